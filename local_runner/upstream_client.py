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
import socket
import ssl
import struct
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import httptools

from gateway.errors import (
    ClientFault,
    InvalidRequest,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
)
from gateway.headers import HeaderMap
from gateway.runtime import Body, Headers, Response
from gateway.urls import split_url

from .bodies import UpstreamBody, Waker
from .flow import WriteGate
from .resolver import Resolver

#: Buffered body bytes above which the upstream socket stops being read, so a
#: slow client holds back a fast upstream instead of filling our memory.
HIGH_WATER = 256 * 1024
#: An idle pooled connection older than this is closed rather than reused
#: (aiohttp's default); upstreams commonly drop theirs after 5–75 s.
KEEPALIVE_S = 15.0
#: Idle connections kept per origin; more are closed when released.
MAX_IDLE = 256

# aiohttp sent "content-length: 0" with no body for any method not in this set;
# some servers answer 411 to a bodiless POST without it.
_NO_BODY_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Safe to resend when a pooled connection turns out to be dead (RFC 9110 §9.2.2).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# struct linger {on, 0 s}: close() resets the connection instead of flushing.
_LINGER_RESET = struct.pack("ii", 1, 0)


def _stalled() -> BaseException:
    return ConnectionResetError("upstream body stalled")


class _Stale(Exception):
    """The connection closed before any byte of the response arrived."""


class StreamedBody(UpstreamBody):
    """A response body fed by the connection and consumed by the server.

    ``release()`` reuses the connection only if the body was read to its end
    and both sides allow keep-alive; anything else closes it, so a health
    check can simply ``release()`` a body it does not read.
    """

    __slots__ = ("_buffer", "_conn", "_done", "_error", "_idle_timeout_s", "_settled", "_size", "_waker")

    def __init__(self, conn: _Connection, idle_timeout_s: float | None) -> None:
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


class _Connection(asyncio.Protocol):
    """One upstream connection; at most one exchange at a time (no pipelining)."""

    def __init__(self, origin: _Origin, loop: asyncio.AbstractEventLoop) -> None:
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
                head.set_exception(_Stale())
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


class _Origin:
    """Where to connect for one scheme+netloc, and its idle connections (LIFO)."""

    __slots__ = ("host", "host_header", "idle", "port", "ssl")

    def __init__(self, scheme: str, netloc: str, context: ssl.SSLContext | None) -> None:
        authority = netloc.rpartition("@")[2]  # userinfo is never sent on the wire
        host, port = authority, ""
        if authority.startswith("["):
            end = authority.find("]")
            host, port = authority[1:end], authority[end + 2 :]
        elif ":" in authority:
            host, _, port = authority.partition(":")
        if scheme not in ("http", "https") or not host:
            raise UpstreamProtocolError("unsupported upstream URL")
        try:
            self.port = int(port) if port else (443 if scheme == "https" else 80)
        except ValueError:
            raise UpstreamProtocolError("invalid upstream port") from None
        self.host = host
        self.ssl = context
        self.host_header = authority
        self.idle: list[_Connection] = []

    def take(self) -> _Connection | None:
        idle = self.idle
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < KEEPALIVE_S and not conn.transport.is_closing():  # type: ignore[union-attr]
                return conn
            conn.abort()
        return None

    def put(self, conn: _Connection) -> None:
        idle = self.idle
        conn._head = None
        conn.idle_since = now = time.monotonic()
        if idle and now - idle[0].idle_since >= KEEPALIVE_S:
            idle.pop(0).abort()  # the oldest, under steady traffic nothing else would close it
        if len(idle) < MAX_IDLE:
            idle.append(conn)
        else:
            conn.abort()


class HttpFetch:
    """``runtime.UpstreamFetch`` over pooled keep-alive connections."""

    def __init__(self, *, body_idle_timeout_s: float | None = None, resolver: Resolver | None = None) -> None:
        self._idle_timeout_s = body_idle_timeout_s
        self._resolver = resolver or Resolver()
        self._origins: dict[tuple[str, str], _Origin] = {}
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
            origin = self._origins[(scheme, netloc)] = _Origin(scheme, netloc, self._ssl if scheme == "https" else None)
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
            except _Stale:
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

    async def _connect(self, origin: _Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        # Resolved here, one lookup per name at a time (local_runner.resolver says why).
        addresses = await self._resolver.addresses(origin.host, origin.port)
        failure: OSError | None = None
        for address in addresses:
            try:
                _, conn = await loop.create_connection(
                    lambda: _Connection(origin, loop),
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
