"""What a request head must satisfy before the gateway sees it, and the queue entry it becomes.

llhttp (strict mode) rejects most malformed heads itself; the rules here are the ones it
leaves to the server: a repeated singleton field, an HTTP/1.1 request without ``Host``, and a
``Host`` that is not a host (replaced by the server's own address when the URL is built).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from gateway.errors import GatewayError
from gateway.headers import HeaderMap

from .bodies import ClientBody

# RFC 9110 fields that must not repeat (the list aiohttp's strict parser enforced).
SINGLETONS = frozenset(
    {
        "content-length",
        "content-location",
        "content-range",
        "content-type",
        "etag",
        "host",
        "max-forwards",
        "server",
        "transfer-encoding",
        "user-agent",
    }
)
# RFC 9110 §7.2 host = uri-host [ ":" port ]; anything else (a path, userinfo,
# spaces) would corrupt the URL we build, so it is replaced by our address.
HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class Malformed(Exception):
    """A head llhttp accepted but HTTP does not (raised inside a parser callback)."""


class Message:
    """One parsed request head, waiting for or being given its answer."""

    __slots__ = ("body", "error", "headers", "keep_alive", "method", "target", "version")

    def __init__(
        self,
        method: str,
        target: str,
        version: str,
        headers: HeaderMap,
        body: ClientBody | None,
        keep_alive: bool,
        error: GatewayError | None = None,
    ) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive
        #: Not a request: a rejection answered (then the connection closed) after the answers ahead of it.
        self.error = error


def error_message(error: GatewayError) -> Message:
    """A queue entry that answers ``error`` and closes, after the answers ahead of it."""
    return Message("", "", "1.1", HeaderMap(), None, False, error)


def request_url(message: Message, own_host: str) -> str:
    """The absolute URL the gateway sees: the target's path and query on the ``Host`` given,
    or on ``own_host`` when that is not a host."""
    target = message.target
    if not target.startswith("/"):
        # absolute-form ("http://other/x") or asterisk-form ("*"): keep
        # only the path and query; the host is never taken from here.
        parts = urlsplit(target)
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        if not target.startswith("/"):
            target = "/" + target
    host = message.headers.get("host") or ""
    if not HOST.fullmatch(host):
        host = own_host
    return f"http://{host}{target}"


def headers_from_raw(raw: Iterable[tuple[bytes, bytes]]) -> HeaderMap:
    """Raw header pairs as a HeaderMap (latin-1, as HTTP/1.1 sends them)."""
    return HeaderMap((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
