"""The twin's outbound HTTP/1.1 client: asyncio protocols, llhttp, a keep-alive pool.

aiohttp's ``ClientSession`` spent more CPU per proxied request than the rest
of the twin together (request/response objects, header re-validation,
tracing hooks, yarl URLs, a ``StreamReader`` per body). A proxy needs much
less: bytes out, a head parsed by ``httptools`` (the C llhttp parser uvicorn
uses), the body handed to the server as it arrives. Only what the server
needs is built: a ``HeaderMap`` and one :class:`StreamedBody` per response.

Behaviour kept from the aiohttp client (tests/hardening checks it):

* the request target goes out byte for byte as the client sent it, since a
  normalised path could name another resource on the backend;
* refused/reset/unresolvable/closed-before-the-head → ``UpstreamConnectError``
  (names are resolved one lookup at a time per name, ``local_runner.resolver``),
  a reply that is not HTTP → ``UpstreamProtocolError``, a client body cut at
  its limit or its timeout → ``ClientFault`` carrying that body's 413/408;
* a cancelled call closes its connection (the deadline in ``gateway.proxy``);
* a body that breaks off, stalls past ``idle_timeout_s`` or turns invalid
  raises ``ConnectionResetError`` in ``chunks()``, so the server cuts its client.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from gateway.errors import (
    ClientFault,
    InvalidRequest,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
)
from gateway.runtime import Body, Headers, Response
from gateway.urls import split_url

from .resolver import Resolver
from .upstream_connection import Connection, Stale
from .upstream_pool import Origin

# aiohttp sent "content-length: 0" with no body for any method not in this set;
# some servers answer 411 to a bodiless POST without it.
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Safe to resend when a pooled connection turns out to be dead (RFC 9110 §9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class HttpFetch:
    """``runtime.UpstreamFetch`` over pooled keep-alive connections."""

    def __init__(self, *, body_idle_timeout_s: float | None = None, resolver: Resolver | None = None) -> None:
        self._idle_timeout_s = body_idle_timeout_s
        self._resolver = resolver or Resolver()
        self._origins: dict[tuple[str, str], Origin] = {}
        self._ssl: ssl.SSLContext | None = None

    async def __call__(
        self, method: str, url: str, headers: Headers, body: Body, timeout_s: float | None = None
    ) -> Response:
        if timeout_s is None:
            return await self._send(method, url, headers, body)
        try:
            async with asyncio.timeout(timeout_s):
                return await self._send(method, url, headers, body)
        except TimeoutError:
            raise UpstreamTimeoutError(f"no response head within {timeout_s} s") from None

    async def _send(self, method: str, url: str, headers: Headers, body: Body) -> Response:
        scheme, netloc, path, query = split_url(url)
        origin = self._origins.get((scheme, netloc))
        if origin is None:
            if scheme == "https" and self._ssl is None:
                self._ssl = ssl.create_default_context()
            origin = self._origins[(scheme, netloc)] = Origin(scheme, netloc, self._ssl if scheme == "https" else None)
        head, stream, chunked = _serialize(
            method, path + "?" + query if query else path, origin.host_header, headers, body
        )
        # Only a body we still hold can be sent twice.
        retry = stream is None and method in _IDEMPOTENT
        while True:
            conn = origin.take()
            reused = conn is not None
            try:
                if conn is None:
                    conn = await self._connect(origin)
                return await conn.exchange(head, stream, chunked, method == "HEAD", self._idle_timeout_s)
            except Stale:
                if reused and retry:
                    retry = False
                    continue
                self._blame_client(body)
                raise UpstreamConnectError("closed before the response") from None
            except (UpstreamConnectError, UpstreamProtocolError):
                self._blame_client(body)
                raise
            except OSError as exc:
                self._blame_client(body)
                raise UpstreamConnectError(type(exc).__name__) from exc

    @staticmethod
    def _blame_client(body: Body) -> None:
        failure = getattr(body, "failure", None)
        if failure is not None:
            raise ClientFault(failure) from None  # the client's body failed (413/408), not the backend

    async def _connect(self, origin: Origin) -> Connection:
        loop = asyncio.get_running_loop()
        # Resolved here, one lookup per name at a time (local_runner.resolver says why).
        addresses = await self._resolver.addresses(origin.host, origin.port)
        failure: OSError | None = None
        for address in addresses:
            try:
                _, conn = await loop.create_connection(
                    lambda: Connection(origin, loop),
                    address,
                    origin.port,
                    ssl=origin.ssl,
                    server_hostname=origin.host if origin.ssl is not None else None,
                )
                return conn
            except OSError as exc:
                failure = exc
        self._resolver.forget(origin.host, origin.port)
        assert failure is not None  # addresses() never answers with none
        raise failure

    async def close(self) -> None:
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().abort()


def _serialize(method: str, target: str, host: str, headers: Headers, body: Body) -> tuple[bytes, Any, bool]:
    """The request head (plus a bytes body), the body still to stream, and whether it goes chunked."""
    lines = [f"{method} {target} HTTP/1.1", "host: " + host]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    stream: Any = None
    chunked = False
    payload = b""
    if body is None:
        if method not in _NO_BODY_METHODS and not headers.has("content-length"):
            lines.append("content-length: 0")
    elif isinstance(body, (bytes, bytearray, memoryview)):
        payload = bytes(body)
        if not headers.has("content-length"):
            lines.append(f"content-length: {len(payload)}")
    else:
        stream = body
        if not headers.has("content-length"):
            lines.append("transfer-encoding: chunked")
            chunked = True
    text = "\r\n".join(lines)
    # A CR or LF inside a value would let it forge headers or requests.
    if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
        raise ClientFault(InvalidRequest("A header value or the target contains a line break"))
    text += "\r\n\r\n"
    try:
        data = text.encode("latin-1")  # round-trips what the server decoded as latin-1
    except UnicodeEncodeError:
        data = text.encode("utf-8")  # a configured value outside latin-1 (as aiohttp sent it)
    return data + payload if payload else data, stream, chunked
