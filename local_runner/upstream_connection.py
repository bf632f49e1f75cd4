"""One keep-alive connection to an upstream, and the response body it feeds.

:class:`Connection` is an ``asyncio.Protocol`` over llhttp (``httptools``): it writes a
request head (and streams its body concurrently), parses the response head into a
``HeaderMap`` and feeds the body into one :class:`StreamedBody`, which the server reads.
A connection read to its end goes back to its origin's pool (``upstream_pool.Origin``).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any

import httptools

from gateway.errors import UpstreamConnectError, UpstreamProtocolError
from gateway.headers import HeaderMap
from gateway.runtime import Response

from .bodies import UpstreamBody, Waker
from .flow import WriteGate

if TYPE_CHECKING:
    from .upstream_pool import Origin

#: Buffered body bytes above which the upstream socket stops being read, so a
#: slow client holds back a fast upstream instead of filling our memory.
HIGH_WATER = 256 * 1024
# struct linger {on, 0 s}: close() resets the connection instead of flushing.
_LINGER_RESET = struct.pack("ii", 1, 0)


def _stalled() -> BaseException:
    return ConnectionResetError("upstream body stalled")


class Stale(Exception):
    """The connection closed before any byte of the response arrived."""


class StreamedBody(UpstreamBody):
    """A response body fed by the connection and consumed by the server.

    ``release()`` reuses the connection only if the body was read to its end
    and both sides allow keep-alive; anything else closes it, so a health
    check can simply ``release()`` a body it does not read.
    """

    __slots__ = ("_buffer", "_conn", "_done", "_error", "_idle_timeout_s", "_settled", "_size", "_waker")

    def __init__(self, conn: Connection, idle_timeout_s: float | None) -> None:
        self._conn = conn
        self._buffer: deque[bytes] = deque()
        self._size = 0
        self._done = False
        self._error: BaseException | None = None
        self._waker = Waker()
        self._idle_timeout_s = idle_timeout_s
        self._settled = False

    # -- fed by the connection ------------------------------------------------
    def _feed(self, data: bytes) -> None:
        self._buffer.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER:
            self._conn.pause_reading()
        self._wake()

    def _finish(self) -> None:
        self._done = True
        self._wake()

    def _fail(self, exc: BaseException) -> None:
        if not self._done and self._error is None:
            self._error = exc
            self._wake()

    def _wake(self) -> None:
        self._waker.wake()

    # -- read by the server ---------------------------------------------------
    async def chunks(self) -> AsyncIterator[bytes]:
        buffer = self._buffer
        while True:
            if buffer:
                # Everything buffered goes out as one write: fewer awaits per body.
                data = buffer.popleft() if len(buffer) == 1 else b"".join(buffer)
                buffer.clear()
                self._size = 0
                self._conn.resume_reading()
                yield data
            elif self._done:
                return
            elif self._error is not None:
                raise self._error
            else:
                await self._wait()

    def whole(self) -> bytes | None:
        if not self._done:
            return None
        buffer = self._buffer
        data = buffer.popleft() if len(buffer) == 1 else b"".join(buffer)
        buffer.clear()
        self._size = 0
        self._conn.resume_reading()
        return data

    async def _wait(self) -> None:
        await self._waker.wait(self._conn.loop, self._idle_timeout_s, _stalled)

    def close(self) -> None:
        if not self._settled:
            self._settled = True
            self._conn.abort()

    def release(self) -> None:
        if not self._settled:
            self._settled = True
            if self._done:  # the whole message is parsed; unread bytes are ours, not the socket's
                self._buffer.clear()
                self._conn.finished()
            else:
                self._conn.abort()

    def __del__(self) -> None:
        # Dropped without close()/release() (an exception between fetch and
        # the server): do not leave the socket open with nobody reading it.
        if not self._settled:
            self._conn.abort()


class Connection(asyncio.Protocol):
    """One upstream connection; at most one exchange at a time (no pipelining)."""

    def __init__(self, origin: Origin, loop: asyncio.AbstractEventLoop) -> None:
        self.origin = origin
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._head: asyncio.Future[Response] | None = None
        self._body: StreamedBody | None = None
        self._idle_timeout_s: float | None = None
        self._head_only = False  # a HEAD request: no body follows whatever the head says
        self._skipping = False  # llhttp is still counting the (absent) body of a HEAD reply
        self._got_bytes = False
        self._keep_alive = False
        self._eof_body = False  # body ends when the upstream closes
        self._informational = False
        self._status = 0
        self._reason = b""
        self._raw: list[tuple[bytes, bytes]] = []
        self._reading_paused = False
        self._writes = WriteGate(loop)
        self._writer: asyncio.Task[None] | None = None
        self.body_error: BaseException | None = None

    # -- the exchange -----------------------------------------------------------
    async def exchange(
        self, head: bytes, body: Any, chunked: bool, head_only: bool, idle_timeout_s: float | None
    ) -> Response:
        future: asyncio.Future[Response] = self.loop.create_future()
        self._head = future
        self._head_only = head_only
        self._idle_timeout_s = idle_timeout_s
        self._got_bytes = False
        self._body = None
        self.body_error = None
        assert self.transport is not None
        self.transport.write(head)
        if body is not None:
            # Concurrently with reading: an upstream may answer (and stop
            # reading) before the whole body is sent.
            self._writer = self.loop.create_task(self._send_body(body, chunked))
        try:
            return await future
        except BaseException:
            self.abort(reset=True)  # cancelled or failed: never reuse this connection
            raise

    async def _send_body(self, body: AsyncIterable[bytes], chunked: bool) -> None:
        transport = self.transport
        assert transport is not None
        try:
            async for chunk in body:
                if self.closed:
                    return
                if not chunk:
                    continue
                if chunked:
                    transport.writelines((b"%x\r\n" % len(chunk), chunk, b"\r\n"))
                else:
                    transport.write(chunk)
                if self._writes.paused:
                    await self._writes.drained()
            if chunked and not self.closed:
                transport.write(b"0\r\n\r\n")
        except (Exception, asyncio.CancelledError) as exc:  # noqa: BLE001 — kept for __call__, which decides whom to blame
            self.body_error = exc
            self._writer = None  # done now: abort() must not cancel the task it runs in
            self.abort(reset=True)

    def finished(self) -> None:
        """The response was read to its end: pool the connection if it may be reused."""
        writer = self._writer
        if self._keep_alive and not self.closed and (writer is None or writer.done()) and self.body_error is None:
            self._body = None
            self._writer = None
            self.origin.put(self)
        else:
            self.abort()

    def abort(self, *, reset: bool = False) -> None:
        """Close now; ``reset`` for an exchange cut short mid-request.

        A plain close still delivers what sits in the kernel's send buffer and
        then a FIN: an upstream reading a cut-off upload slowly would learn
        of it only after draining up to megabytes. A reset (SO_LINGER 0)
        discards that buffer and tells it at once.
        """
        self.closed = True
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
        if self.transport is not None:
            if reset and not self.transport.is_closing():
                sock = self.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            self.transport.abort()

    def pause_reading(self) -> None:
        if not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]

    def resume_reading(self) -> None:
        if self._reading_paused and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]

    # -- asyncio.Protocol -------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._head is None:
            # Nothing was asked: an upstream talking out of turn is not reusable.
            self.abort()
            return
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._invalid(exc)
            return
        if self._skipping:
            # llhttp cannot be told a reply answers HEAD and would wait for the
            # body its head announces: the exchange ends here, start afresh.
            self._parser = httptools.HttpResponseParser(self)
            self._skipping = False
            self._head = None

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost does the rest

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        head = self._head
        if head is not None and not head.done():
            if self._got_bytes:
                head.set_exception(UpstreamConnectError("closed before the response head"))
            else:
                head.set_exception(Stale())
        body = self._body
        if body is not None and not body._done:
            if self._eof_body and exc is None:
                body._finish()
            else:
                body._fail(ConnectionResetError("upstream body ended early"))
        self._writes.fail(ConnectionResetError("upstream closed"))

    def pause_writing(self) -> None:
        self._writes.pause()

    def resume_writing(self) -> None:
        self._writes.resume()

    def _invalid(self, exc: Exception) -> None:
        head = self._head
        if head is not None and not head.done():
            head.set_exception(UpstreamProtocolError(type(exc).__name__))
        elif self._body is not None:
            self._body._fail(ConnectionResetError("upstream body invalid"))
        self.abort()

    # -- httptools callbacks ---------------------------------------------------
    def on_message_begin(self) -> None:
        if self._head is None:
            raise UpstreamProtocolError("a response nobody asked for")  # → _invalid: not reusable
        self._status = 0
        self._reason = b""
        self._raw = []

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._status = self._parser.get_status_code()
        if status < 200:
            self._informational = True  # 100 Continue, 103 Early Hints: wait for the real head
            return
        headers = HeaderMap((n.decode("latin-1"), v.decode("latin-1")) for n, v in self._raw)
        if self._head_only:  # llhttp would count an unframed HEAD reply as "body until close"
            self._keep_alive = "close" not in (headers.get("connection") or "").lower()
        else:
            self._keep_alive = self._parser.should_keep_alive()
        self._keep_alive = self._keep_alive and self._parser.get_http_version() == "1.1"
        framed = headers.has("content-length") or "chunked" in (headers.get("transfer-encoding") or "").lower()
        self._eof_body = not framed
        body = self._body = StreamedBody(self, self._idle_timeout_s)
        if self._head_only or status == 204 or status == 304:
            body._done = True
            self._eof_body = False
            self._skipping = self._head_only
        head = self._head
        if head is not None and not head.done():
            head.set_result(Response(status, headers, body, self._reason.decode("latin-1")))

    def on_body(self, data: bytes) -> None:
        if self._skipping:
            self._keep_alive = False  # bytes after a HEAD reply: the stream is out of step
            return
        elif self._body is not None:
            self._body._feed(data)

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        if self._body is not None:
            self._body._finish()
        self._head = None  # anything after this is unsolicited
