"""The twin's HTTP server: native aiohttp requests ⇄ the core's views.

This module only converts, plus the connection-level guards a server owes
the gateway behind it (the Worker gets these from Cloudflare's edge):

* a request head must arrive within ``CLIENT_HEADER_TIMEOUT_MS`` of the
  connection opening or of its first byte (slowloris);
* each piece of a request body within ``CLIENT_BODY_TIMEOUT_MS`` (408), and
  a chunked body is cut at ``MAX_BODY_BYTES`` (413), see ``bodies.ClientBody``;
* a request head larger than ``MAX_HEADER_BYTES`` or with more than
  :data:`MAX_HEADER_FIELDS` lines is cut off with a JSON 431 as it arrives,
  measured here (aiohttp limits single lines only, and reports too many
  headers with the same exception type as any malformed request);
* HTTP that aiohttp's parser rejects gets a JSON 400 (431 for a line over
  the limit) and a closed connection, and the parser's message, which quotes
  the offending bytes (an ``Authorization`` line, say), is neither sent nor
  logged.

Everything the gateway decides happens in ``Gateway.handle``, the same
pipeline the Worker serves.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict

from gateway.errors import GatewayError, HeadersTooLarge, InvalidRequest
from gateway.headers import HeaderMap, request_id
from gateway.logs import log_event
from gateway.runtime import Handler, Request, Response

from .bodies import ClientBody, UpstreamBody

#: Header lines a request head may have (aiohttp's default; nginx has none).
MAX_HEADER_FIELDS = 128
_HEAD_END = b"\r\n\r\n"

# RFC 9110 §7.2 host = uri-host [ ":" port ]; anything else (a path, userinfo,
# spaces) would corrupt the URL we build, so it is replaced by our address.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class GatewayHandler:
    """aiohttp low-level handler that serves the gateway's ``handle``."""

    def __init__(
        self,
        handle: Handler,
        own_host: str,
        *,
        max_body_bytes: int = 0,
        body_timeout_s: float | None = None,
    ) -> None:
        self._handle = handle
        self._own_host = own_host
        self._max_body_bytes = max_body_bytes
        self._body_timeout_s = body_timeout_s

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.method == "CONNECT":
            # A tunnel request (authority-form target): this is not a forward proxy.
            return error_response(InvalidRequest("CONNECT is not supported"))
        # From the raw bytes as latin-1 (aiohttp's own decoding is UTF-8 with
        # surrogates, which cannot be sent on byte for byte).
        headers = headers_from_raw(request.raw_headers)
        # Expect is answered here (RFC 9110 §10.1.1 lets a proxy send the 100
        # itself): forwarded, it would make the outbound request wait for a 100
        # that many upstreams never send.
        expect = headers.get("expect")
        headers.delete("expect")
        body = None
        if request.body_exists:
            wants_continue = (
                expect is not None and expect.strip().lower() == "100-continue" and request.version >= (1, 1)
            )
            body = ClientBody(
                request.content,
                limit=self._max_body_bytes,
                idle_timeout_s=self._body_timeout_s,
                before_first_read=(lambda: request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n"))
                if wants_continue
                else None,
            )
        view = Request(
            method=request.method,
            url=self._url(request),
            headers=headers,
            body=body,
            client_ip=request.remote,
        )
        response = await self._handle(view)
        # A body cut short leaves unread bytes on the connection: close it.
        return await _send(request, response, close=body is not None and body.failure is not None)

    def _url(self, request: web.BaseRequest) -> str:
        target = request.raw_path
        if not target.startswith("/"):
            # absolute-form ("http://other/x") or asterisk-form ("*"): keep
            # only the path and query; the host is never taken from here.
            parts = urlsplit(target)
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            if not target.startswith("/"):
                target = "/" + target
        host = request.headers.get("host", "")
        if not _HOST.fullmatch(host):
            host = self._own_host
        return f"http://{host}{target}"


async def _send(request: web.BaseRequest, response: Response, *, close: bool = False) -> web.StreamResponse:
    headers = CIMultiDict(response.headers.items())
    body = response.body
    if not isinstance(body, UpstreamBody):
        answer = web.Response(status=response.status, reason=response.reason or None, headers=headers, body=body)
        if close:
            answer.force_close()
        return answer
    stream = web.StreamResponse(status=response.status, reason=response.reason or None, headers=headers)
    try:
        await stream.prepare(request)
        async for chunk in body.chunks():
            await stream.write(chunk)
        await stream.write_eof()
    except BaseException:
        # Client gone, upstream broken, or cancelled: drop the upstream
        # connection rather than return a half-read one to the pool.
        body.close()
        raise
    body.release()
    return stream


def headers_from_raw(raw: Iterable[tuple[bytes, bytes]]) -> HeaderMap:
    """aiohttp's raw header pairs as a HeaderMap (latin-1, as HTTP/1.1 sends them)."""
    return HeaderMap((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)


def error_response(error: GatewayError) -> web.Response:
    """The gateway's JSON error, for answers the twin gives before the core sees a request."""
    rid = request_id(None)
    response = web.Response(
        status=error.status,
        body=error.body(rid),
        headers={"content-type": "application/json", "x-request-id": rid},
    )
    response.force_close()
    return response


class TwinServer(web.Server):
    """``aiohttp.web.Server`` whose connections are :class:`GuardedConnection`."""

    def __init__(
        self,
        handler: GatewayHandler,
        *,
        header_timeout_s: float,
        max_head_bytes: int,
        log: Callable[[str], None],
        **kwargs: Any,
    ) -> None:
        # aiohttp's own count limit stays as a backstop behind ours.
        super().__init__(handler, max_headers=4 * MAX_HEADER_FIELDS, **kwargs)
        self._header_timeout_s = header_timeout_s
        self._max_head_bytes = max_head_bytes
        self._log = log
        # One sweep for every connection instead of a timer per request head:
        # a timer costs ~2 us to arm and cancel, on every request.
        self.watched: set[GuardedConnection] = set()
        self._tick_s = min(1.0, header_timeout_s / 4)
        self._sweeper = self._loop.call_later(self._tick_s, self._sweep)

    def __call__(self) -> RequestHandler:
        return GuardedConnection(
            self,
            loop=self._loop,
            header_timeout_s=self._header_timeout_s,
            max_head_bytes=self._max_head_bytes,
            log=self._log,
            **self._kwargs,
        )

    def _sweep(self) -> None:
        now = self._loop.time()
        for connection in [c for c in self.watched if c.head_overdue(now)]:
            connection.head_timed_out(now)
        self._sweeper = self._loop.call_later(self._tick_s, self._sweep)

    async def shutdown(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 — aiohttp's signature
        self._sweeper.cancel()
        await super().shutdown(timeout)


class GuardedConnection(RequestHandler):
    """One client connection: aiohttp's handler plus a request-head deadline and size limit.

    aiohttp has no header-read timeout; its keep-alive timer only fires once
    per ``keepalive_timeout`` and does not look at partial heads. Here the
    clock starts when the connection opens and whenever the first bytes of a
    new head arrive (not while a body is being read), and stops when the
    parser completes a head; :class:`TwinServer`'s sweep closes a connection
    whose head is overdue (so the deadline is met within one sweep tick).
    It reads aiohttp's ``_request_count``/``_messages`` (aiohttp is pinned in
    pyproject.toml; tests/hardening/test_slow_clients.py fails if they change).
    """

    def __init__(
        self,
        manager: web.Server,
        *,
        header_timeout_s: float,
        max_head_bytes: int,
        log: Callable[[str], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(manager, **kwargs)
        self._header_timeout_s = header_timeout_s
        self._max_head_bytes = max_head_bytes
        self._log = log
        self._head_since: float | None = None
        self._head_bytes = 0
        self._head_lines = 0
        self._last_payload: Any = None
        self._watched = manager.watched  # type: ignore[attr-defined]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._head_since = self._loop.time()
        self._watched.add(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._head_since = None
        self._watched.discard(self)
        self._last_payload = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self._head_since is None and (self._last_payload is None or self._last_payload.is_eof()):
            self._head_since = self._loop.time()  # these bytes begin a new request head
            self._head_bytes = self._head_lines = 0
        if self._head_since is not None and self._head_too_large(data):
            self._reject_head()
            return
        heads = self._request_count
        super().data_received(data)
        if self._request_count != heads:
            self._head_since = None
            if self._messages:
                self._last_payload = self._messages[-1][1]

    def _head_too_large(self, data: bytes) -> bool:
        """Count the head's bytes and lines (up to its blank line) before the parser sees them."""
        end = data.find(_HEAD_END)
        part = data if end == -1 else data[: end + 2]
        self._head_bytes += len(part)
        self._head_lines += part.count(b"\n")
        # The request line is one of the lines; its own length is aiohttp's max_line_size.
        return self._head_bytes > self._max_head_bytes or self._head_lines > MAX_HEADER_FIELDS + 1

    def _reject_head(self) -> None:
        """Answer 431 and close, without handing the head to the parser."""
        self._head_since = None
        log_event(self._log, time.time(), "http_rejected", status=431, error="HeadersTooLarge")
        if self.transport is not None:
            rid = request_id(None)
            body = HeadersTooLarge().body(rid)
            head = (
                "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nx-request-id: {rid}\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head.encode() + body)
        self.force_close()

    def head_overdue(self, now: float) -> bool:
        return self._head_since is not None and now - self._head_since >= self._header_timeout_s

    def head_timed_out(self, now: float) -> None:
        if self.transport is None:
            self._head_since = None
            return
        if self._request_in_progress:
            # A pipelined head behind a long response: give it time after that.
            self._head_since = now
            return
        self._head_since = None
        log_event(self._log, time.time(), "client_header_timeout")
        self.force_close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """Answer what aiohttp could not hand to the gateway, as the gateway would.

        ``message`` and ``exc`` quote the offending request bytes, so only
        the exception's type is logged and the body is the gateway's own.
        """
        if isinstance(exc, (ConnectionError, asyncio.CancelledError)):
            # The client went away mid-request: nothing to answer (Caddy logs 499).
            log_event(self._log, time.time(), "client_disconnected", status=499, error=type(exc).__name__)
        else:
            log_event(self._log, time.time(), "http_rejected", status=status, error=type(exc).__name__ if exc else None)
        if request.writer.output_size > 0:
            # Mid-response (an upstream body that broke off): all we can do is cut the connection.
            raise ConnectionError("response already started")
        error: GatewayError
        if isinstance(exc, LineTooLong):
            error = HeadersTooLarge()
        elif 400 <= status < 500:
            error = InvalidRequest("Malformed HTTP request")
        else:
            error = GatewayError()
        return error_response(error)

    def log_exception(self, *args: Any, **kwargs: Any) -> None:
        # aiohttp's default writes a traceback that can quote request bytes.
        exc = kwargs.get("exc_info")
        log_event(
            self._log,
            time.time(),
            "twin_exception",
            error=type(exc).__name__ if isinstance(exc, BaseException) else None,
        )
