"""One client connection of the twin's HTTP/1.1 server (``http_server.HttpServer``).

An ``asyncio.Protocol`` over llhttp (``httptools``): the head guard (size, line count,
deadline) counts a head's bytes before the parser sees them; parsed heads are queued and
answered in order, one at a time (pipelining), through the gateway's handler; bodies flow
both ways with backpressure (``bodies.ClientBody``, ``flow.WriteGate``). What a head must
satisfy is ``request_heads``; how an answer's head is written is ``responses``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING

import httptools

from gateway.errors import GatewayError, HeadersTooLarge, InvalidRequest
from gateway.headers import HeaderMap
from gateway.logs import log_event
from gateway.runtime import Request, Response

from .bodies import ClientBody, UpstreamBody
from .flow import WriteGate
from .request_heads import SINGLETONS, Malformed, Message, error_message, request_url
from .responses import CONTINUE, NO_BODY_STATUSES, error_bytes, error_response, response_head

if TYPE_CHECKING:
    from .http_server import HttpServer

#: Header lines a request head may have (aiohttp's default, which the twin had before; nginx has none).
MAX_HEADER_FIELDS = 128
#: Requests parsed ahead of the one being answered (pipelining) before the socket stops being read.
MAX_PIPELINED = 16
_HEAD_END = b"\r\n\r\n"


class HttpConnection(asyncio.Protocol):
    """One client connection: parses requests, answers them in order through the gateway."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self.loop = server.loop
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._client_ip: str | None = None
        self._queue: deque[Message] = deque()
        self._task: asyncio.Task[None] | None = None
        self._answering = False
        # the head being parsed
        self._url = b""
        self._raw: list[tuple[bytes, bytes]] = []
        self._in_body: ClientBody | None = None
        self._in_message = False  # between a head's completion and its message's end
        # the head guard
        self._head_since: float | None = None
        self._head_bytes = 0
        self._head_lines = 0
        self._idle_since: float | None = None
        # state of the socket
        self._stopped = False  # nothing more is parsed (a rejected head, an upgrade, a close)
        self._read_pauses: set[str] = set()
        self._writes = WriteGate(self.loop)

    # -- asyncio.Protocol ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        self._client_ip = peer[0] if isinstance(peer, tuple) else None
        self._head_since = self.loop.time()
        self._server.connections.add(self)
        if self._server.closing:
            self.abort()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._server.forget(self)
        self._transport = None
        self._stopped = True
        if self._in_body is not None:
            self._in_body.fail(InvalidRequest("The client closed the connection"))
        self._writes.fail(ConnectionResetError("client gone"))
        if self._task is not None and not self._task.done():
            if self._answering:
                # Gone mid-request: nothing to answer (Caddy logs 499); cancelling
                # the handler cancels its upstream call.
                log_event(
                    self._server.log, time.time(), "client_disconnected", status=499, error="ConnectionResetError"
                )
            self._task.cancel()

    def data_received(self, data: bytes) -> None:
        if self._stopped:
            return
        if not self._in_message:
            if self._head_since is None:
                self._head_since = self.loop.time()  # these bytes begin a new request head
                self._head_bytes = self._head_lines = 0
            self._idle_since = None
            if self._head_too_large(data):
                self._reject_head()
                return
        queued = len(self._queue)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # CONNECT, or an Upgrade the parser stopped at: the head is answered
            # (never switched: this is not a tunnel) and the connection closed.
            self._stop_after_queue()
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
            self._malformed(cause if isinstance(cause, Exception) else exc, fresh=len(self._queue) > queued)

    def eof_received(self) -> bool:
        # A client that stops sending is taken as gone, as aiohttp's server did:
        # its request is cancelled (and with it the upstream call).
        return False

    def pause_writing(self) -> None:
        self._writes.pause()

    def resume_writing(self) -> None:
        self._writes.resume()

    # -- the head guard -------------------------------------------------------------
    def _head_too_large(self, data: bytes) -> bool:
        """Count the head's bytes and lines (up to its blank line) before the parser sees them."""
        end = data.find(_HEAD_END)
        part = data if end == -1 else data[: end + 2]
        self._head_bytes += len(part)
        self._head_lines += part.count(b"\n")
        # The request line is one of the lines.
        return self._head_bytes > self._server.max_head_bytes or self._head_lines > MAX_HEADER_FIELDS + 1

    def _reject_head(self) -> None:
        """Answer 431 and close, without handing the head to the parser."""
        self._head_since = None
        log_event(self._server.log, time.time(), "http_rejected", status=431, error="HeadersTooLarge")
        self._stopped = True
        if self._task is None:
            self._write_error(HeadersTooLarge())
            self.close()
        else:
            self._queue.append(error_message(HeadersTooLarge()))

    def overdue(self, now: float) -> bool:
        if self._head_since is not None:
            return now - self._head_since >= self._server.header_timeout_s
        return self._idle_since is not None and now - self._idle_since >= self._server.keepalive_timeout_s

    def expire(self, now: float) -> None:
        if self._head_since is None:  # idle keep-alive connection
            self.close()
            return
        if self._task is not None:
            # A pipelined head behind a long response: give it time after that.
            self._head_since = now
            return
        self._head_since = None
        log_event(self._server.log, time.time(), "client_header_timeout")
        self.close()

    # -- httptools callbacks ----------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._raw = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        self._head_since = None
        parser = self._parser
        version = parser.get_http_version()
        # llhttp strips the whitespace before a value, not after (RFC 9110 §5.5).
        headers = HeaderMap((n.decode("latin-1"), v.rstrip(b" \t").decode("latin-1")) for n, v in self._raw)
        names = headers.names()
        if len(self._raw) != len(names):  # some name repeats: none of the singletons may
            seen = [name for name, _ in headers.items() if name in SINGLETONS]
            if len(seen) != len(set(seen)):
                raise Malformed("a repeated singleton field")
        if version == "1.1" and "host" not in names:
            raise Malformed("no Host")
        method = parser.get_method().decode("ascii")
        body = None
        if not parser.should_upgrade() and (
            "transfer-encoding" in names or headers.get("content-length") not in (None, "0")
        ):
            length = headers.get("content-length")
            if length is None or int(length) > 0:
                server = self._server
                expect = headers.get("expect")
                body = self._in_body = ClientBody(
                    self,
                    limit=server.max_body_bytes,
                    idle_timeout_s=server.body_timeout_s,
                    expect_continue=expect is not None
                    and expect.strip().lower() == "100-continue"
                    and version == "1.1",
                )
        self._in_message = True
        message = Message(
            method, self._url.decode("latin-1"), version, headers, body, parser.should_keep_alive() and version != "0.9"
        )
        self._queue.append(message)
        if len(self._queue) > MAX_PIPELINED:
            self._pause_reading("pipeline")
        if self._task is None:
            self._task = self.loop.create_task(self._serve())

    def on_body(self, data: bytes) -> None:
        if self._in_body is not None:
            self._in_body.feed(data)

    def on_message_complete(self) -> None:
        if self._in_body is not None:
            self._in_body.finish()
            self._in_body = None
        self._in_message = False

    # -- flow control --------------------------------------------------------------------
    def pause_body(self, paused: bool) -> None:
        """``bodies.BodyFlow``: a request body's buffer is full (or drained)."""
        if paused:
            self._pause_reading("body")
        else:
            self._resume_reading("body")

    def send_continue(self) -> None:
        """``bodies.BodyFlow``: the upstream client starts reading the body."""
        if self._transport is not None:
            self._transport.write(CONTINUE)

    def _pause_reading(self, reason: str) -> None:
        if not self._read_pauses and self._transport is not None:
            self._transport.pause_reading()
        self._read_pauses.add(reason)

    def _resume_reading(self, reason: str) -> None:
        if reason in self._read_pauses:
            self._read_pauses.discard(reason)
            if not self._read_pauses and self._transport is not None and not self._transport.is_closing():
                self._transport.resume_reading()

    # -- errors and closing ---------------------------------------------------------------
    def _malformed(self, exc: Exception, *, fresh: bool) -> None:
        """What the parser rejected: 400, and nothing more is read from this client."""
        log_event(self._server.log, time.time(), "http_rejected", status=400, error=type(exc).__name__)
        self._stopped = True
        self._head_since = None
        self._pause_reading("stopped")
        error = InvalidRequest("Malformed HTTP request")
        if fresh and self._in_message:
            # The head completed in these same bytes (llhttp checks the framing
            # after its callback): nobody has started on it, so nothing of it
            # goes upstream.
            self._queue.pop()
            self._in_body = None
            self._queue.append(error_message(error))
        elif self._in_body is not None:
            # Mid-body: the request is already on its way upstream; its body
            # fails, so the upstream never gets a complete request and the
            # gateway answers 400 (ClientFault) before this connection closes.
            self._in_body.fail(error)
            self._in_body = None
            self._stop_after_queue()
        elif self._task is None:
            self._write_error(error)
            self.close()
        else:
            self._queue.append(error_message(error))

    def _stop_after_queue(self) -> None:
        self._stopped = True
        for message in self._queue:
            message.keep_alive = False
        if self._task is None and not self._queue:
            self.close()

    def _write_error(self, error: GatewayError) -> None:
        if self._transport is not None:
            self._transport.write(error_bytes(error))

    def close_when_idle(self) -> None:
        """Shutdown: close now when idle, else after the answer in flight (``HttpServer.closing``)."""
        if self._task is None and not self._in_message:
            self.close()

    def close(self) -> None:
        """Close after what is written has gone out."""
        self._stopped = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Close now, dropping what is not yet sent."""
        self._stopped = True
        if self._transport is not None:
            self._transport.abort()

    # -- answering ------------------------------------------------------------------------
    async def _serve(self) -> None:
        """Answer queued requests in order, while there are any."""
        queue = self._queue
        try:
            while queue and self._transport is not None:
                message = queue[0]
                if "pipeline" in self._read_pauses and len(queue) <= MAX_PIPELINED // 2:
                    self._resume_reading("pipeline")
                try:
                    keep = await self._answer(message)
                except Exception as exc:  # noqa: BLE001 — a bug or a broken write: log the type only, cut the client
                    log_event(self._server.log, time.time(), "twin_exception", error=type(exc).__name__)
                    self.abort()
                    return
                queue.popleft()
                if not keep:
                    self.close()
                    return
        finally:
            self._task = None
            self._answering = False
        if self._stopped and self._transport is not None:
            self.close()  # half-closed, rejected or shutting down: everything asked is answered
        elif self._head_since is None and not self._in_message:
            self._idle_since = self.loop.time()

    async def _answer(self, message: Message) -> bool:
        """Answer one request; whether the connection may carry another."""
        if message.error is not None:
            self._write_error(message.error)
            return False
        body = message.body
        self._answering = True
        if message.method == "CONNECT":
            # A tunnel request (authority-form target): this is not a forward proxy.
            response = error_response(InvalidRequest("CONNECT is not supported"))
            keep = False
        else:
            headers = message.headers
            # Expect is answered here (RFC 9110 §10.1.1 lets a proxy send the 100
            # itself): forwarded, it would make the outbound request wait for a 100
            # that many upstreams never send.
            headers.delete("expect")
            view = Request(message.method, request_url(message, self._server.own_host), headers, body, self._client_ip)
            response = await self._server.handle(view)
            # A body cut short leaves unread bytes on the connection: close it.
            keep = message.keep_alive and not self._server.closing and (body is None or body.failure is None)
        keep = await self._send(response, message, keep)
        self._answering = False
        if body is not None and not body.done and keep:
            keep = await self._linger(body)
        return keep

    async def _linger(self, body: ClientBody) -> bool:
        """The answer went out before the body came in: read and drop the rest for a while,
        so the client sees the answer instead of a reset, then go on or close."""
        body.discard()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._server.lingering_time_s):
                await body.arrived()
        return body.done and body.failure is None

    async def _send(self, response: Response, message: Message, keep: bool) -> bool:
        """Write the answer; whether the connection stays open after it."""
        transport = self._transport
        if transport is None:
            if isinstance(response.body, UpstreamBody):
                response.body.close()
            return False
        status = response.status
        headers = response.headers
        body = response.body
        head_only = message.method == "HEAD" or status in NO_BODY_STATUSES or status < 200
        if not isinstance(body, UpstreamBody):
            # The gateway's own answers (bytes); to HEAD it keeps the GET's length, without a body.
            data = b""
            if not head_only:
                data = b"" if body is None else bytes(body)
                headers.set("content-length", str(len(data)))
            transport.write(response_head(status, response.reason, headers, keep, message.version) + data)
            return keep
        chunked = False
        if head_only or headers.has("content-length"):
            pass  # framed by the upstream's length, or no body at all
        elif message.version == "1.1":
            headers.set("transfer-encoding", "chunked")
            chunked = True
        else:
            keep = False  # HTTP/1.0: the body ends when the connection does
        head = response_head(status, response.reason, headers, keep, message.version)
        try:
            if head_only:
                transport.write(head)
                body.release()
                return keep
            whole = body.whole()
            if whole is not None:
                # The common case: a small answer already in, head and body in one write.
                if chunked:
                    transport.write(head + (b"%x\r\n%b\r\n0\r\n\r\n" % (len(whole), whole) if whole else b"0\r\n\r\n"))
                else:
                    transport.write(head + whole)
                body.release()
                return keep
            transport.write(head)
            async for chunk in body.chunks():
                if not chunk:
                    continue
                if chunked:
                    transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
                else:
                    transport.write(chunk)
                if self._writes.paused:
                    await self._writes.drained()
                if self._transport is None:
                    raise ConnectionResetError("client gone")
            if chunked:
                transport.write(b"0\r\n\r\n")
        except BaseException:
            # Client gone, upstream broken, or cancelled: drop the upstream
            # connection rather than return a half-read one to the pool, and
            # cut the client, whose answer cannot be completed.
            body.close()
            self.abort()
            raise
        body.release()
        return keep
