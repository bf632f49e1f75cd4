"""Bodies as the twin carries them: the client's, streamed up; the upstream's, streamed down.

``capture`` and ``read`` are the twin's ``Platform.capture``/``Platform.read``
(shadow traffic): a copy is kept as chunks pass, never by reading ahead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Protocol

from gateway.errors import ClientError, PayloadTooLarge, RequestTimeout
from gateway.runtime import Body

#: Buffered request body bytes above which the server stops reading the
#: client, so a slow upstream holds back a fast client instead of filling memory.
HIGH_WATER = 256 * 1024


class Waker:
    """The reader of a body waiting for its next piece, with an optional idle deadline.

    One reader at a time; a new wait takes over from one that is being cancelled.

    Both directions use it: the server feeds a :class:`ClientBody`, the
    upstream connection a streamed upstream body; a bare timer rather than
    ``asyncio.timeout`` because it is only armed when the body is not already here.
    """

    __slots__ = ("_waiter",)

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(
        self, loop: asyncio.AbstractEventLoop, idle_timeout_s: float | None, stalled: Callable[[], BaseException]
    ) -> None:
        """Until :meth:`wake`; raises ``stalled()`` when ``idle_timeout_s`` passes first."""
        waiter = self._waiter = loop.create_future()
        timer = None if idle_timeout_s is None else loop.call_later(idle_timeout_s, _stall, waiter, stalled)
        try:
            await waiter
        finally:
            # Only our own waiter: a reader cancelled while another took over
            # (the server lingering after an early answer, while the upstream
            # client's body sender is being cancelled) must not take that
            # reader's wake-up with it.
            if self._waiter is waiter:
                self._waiter = None
            if timer is not None:
                timer.cancel()


def _stall(waiter: asyncio.Future[None], stalled: Callable[[], BaseException]) -> None:
    if not waiter.done():
        waiter.set_exception(stalled())


class UpstreamBody:
    """An upstream response body as the twin's server streams it out.

    ``chunks()`` yields the body; it raises ``ConnectionResetError`` when the
    upstream breaks the body off or stalls longer than the idle timeout
    (the twin reuses UPSTREAM_TIMEOUT_MS), so the server cuts its client too.
    The server then calls ``release()`` after the last chunk or ``close()``
    when it stopped early; ``discard`` releases a body nobody reads.
    """

    __slots__ = ()

    def chunks(self) -> AsyncIterator[bytes]:
        raise NotImplementedError

    def whole(self) -> bytes | None:
        """The whole body if it is already here (taken at once), else None: read ``chunks()``.

        Lets the server send a small answer's head and body in one write.
        """
        return None

    def close(self) -> None:
        """Drop the connection (the body was not read to its end)."""
        raise NotImplementedError

    def release(self) -> None:
        """Return the connection to the pool (the body was read to its end)."""
        raise NotImplementedError


class BodyFlow(Protocol):
    """What a :class:`ClientBody` needs from the connection that feeds it."""

    loop: asyncio.AbstractEventLoop

    def pause_body(self, paused: bool) -> None:
        """Stop (True) or resume (False) reading the client's socket."""

    def send_continue(self) -> None:
        """Write ``100 Continue``: the client waits for it before sending its body."""


class ClientBody:
    """A client's request body, fed by the server as it arrives, streamed to the upstream.

    The core's Content-Length check cannot see a chunked body, so the limit
    (MAX_BODY_BYTES) is counted here as the bytes pass; ``idle_timeout_s``
    (CLIENT_BODY_TIMEOUT_MS) bounds each wait for the next piece. Either
    failure, or a body the server's parser rejected, is kept in ``failure``
    and the outbound request is aborted, so the upstream never sees a
    complete request; the fetch then raises ``ClientFault(failure)`` (413,
    408 or 400) instead of blaming the backend. Above :data:`HIGH_WATER`
    buffered bytes the server stops reading the client (backpressure).
    """

    __slots__ = (
        "_buffer",
        "_continue",
        "_flow",
        "_idle_timeout_s",
        "_limit",
        "_paused",
        "_size",
        "_waker",
        "discarding",
        "done",
        "failure",
    )

    def __init__(
        self,
        flow: BodyFlow,
        *,
        limit: int = 0,
        idle_timeout_s: float | None = None,
        expect_continue: bool = False,
    ) -> None:
        self._flow = flow
        self._limit = limit
        self._idle_timeout_s = idle_timeout_s
        self._continue = expect_continue
        self._buffer: list[bytes] = []
        self._size = 0
        self._paused = False
        self._waker = Waker()
        #: The whole body arrived (the parser completed the message).
        self.done = False
        #: The answer went out first: what still arrives is dropped.
        self.discarding = False
        self.failure: ClientError | None = None

    # -- fed by the server ------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.discarding:
            return
        self._buffer.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER and not self._paused:
            self._paused = True
            self._flow.pause_body(True)
        self._wake()

    def finish(self) -> None:
        self.done = True
        self._wake()

    def fail(self, error: ClientError) -> None:
        """The client broke its body off (malformed, or gone): the reader stops."""
        if self.failure is None:
            self.failure = error
        self._wake()

    def discard(self) -> None:
        """Drop what is buffered and whatever still comes (the answer is already out)."""
        self.discarding = True
        self._buffer.clear()
        self._size = 0
        self._continue = False
        if self._paused:
            self._paused = False
            self._flow.pause_body(False)

    async def arrived(self) -> None:
        """Wait until the whole body arrived or failed (a server lingering after an early answer)."""
        while not self.done and self.failure is None:
            await self._waker.wait(self._flow.loop, None, _ClientBodyAbort)

    def _wake(self) -> None:
        self._waker.wake()

    # -- read by the upstream client ----------------------------------------------
    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._continue:
            self._continue = False
            self._flow.send_continue()
        received = 0
        while True:
            if self._buffer:
                data = self._buffer[0] if len(self._buffer) == 1 else b"".join(self._buffer)
                self._buffer.clear()
                self._size = 0
                if self._paused:
                    self._paused = False
                    self._flow.pause_body(False)
                received += len(data)
                if self._limit and received > self._limit:
                    self.failure = PayloadTooLarge()
                    raise _ClientBodyAbort()
                yield data
            elif self.failure is not None:
                raise _ClientBodyAbort()
            elif self.done:
                return
            else:
                await self._waker.wait(self._flow.loop, self._idle_timeout_s, self._timed_out)

    def _timed_out(self) -> BaseException:
        self.failure = RequestTimeout()
        return _ClientBodyAbort()


class _ClientBodyAbort(Exception):
    """Stops the outbound body; deliberately not an OSError or a TimeoutError,
    which the fetch would report as a connection failure or an upstream timeout."""


class CapturedBody(UpstreamBody):
    """An upstream body that keeps a copy of its chunks as the server writes them out.

    The client gets every chunk exactly as before; ``copy`` resolves to the
    whole body once the server read it to the end, or to None when it grew
    past ``limit`` or was cut off (client gone, upstream broken).
    """

    __slots__ = ("_inner", "_limit", "_parts", "_size", "copy")

    def __init__(self, inner: UpstreamBody, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._parts: list[bytes] | None = []
        self._size = 0
        self.copy: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner.chunks():
            if self._parts is not None:
                self._size += len(chunk)
                if self._size > self._limit:
                    self._parts = None  # longer than announced: stop copying, keep streaming
                else:
                    self._parts.append(chunk)
            yield chunk
        _settle(self.copy, None if self._parts is None else b"".join(self._parts))

    def close(self) -> None:
        _settle(self.copy, None)
        self._inner.close()

    def release(self) -> None:
        _settle(self.copy, None)  # no-op when chunks() finished and settled it
        self._inner.release()


class CapturedStream:
    """A client's request body (an async iterable) that keeps a copy as it is sent upstream.

    ``failure`` passes through, so the fetch still blames the client for a
    body that stalled or outgrew the limit (``ClientBody``).
    """

    __slots__ = ("_inner", "_limit", "copy")

    def __init__(self, inner: AsyncIterable[bytes], limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self.copy: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    @property
    def failure(self) -> ClientError | None:
        return getattr(self._inner, "failure", None)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        parts: list[bytes] | None = []
        size = 0
        try:
            async for chunk in self._inner:
                if parts is not None:
                    size += len(chunk)
                    if size > self._limit:
                        parts = None  # longer than announced: stop copying, keep sending
                    else:
                        parts.append(chunk)
                yield chunk
        finally:
            _settle(self.copy, None if parts is None else b"".join(parts))


def _settle(future: asyncio.Future[bytes | None], value: bytes | None) -> None:
    if not future.done():
        future.set_result(value)


def capture(body: Body, limit: int) -> tuple[Body, Awaitable[bytes | None]]:
    """``runtime.Capture`` for the twin's bodies (``Platform.capture``)."""
    if isinstance(body, UpstreamBody):
        captured = CapturedBody(body, limit)
        return captured, captured.copy
    if body is None or isinstance(body, (bytes, bytearray, memoryview)):
        data = b"" if body is None else bytes(body)
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        future.set_result(data if len(data) <= limit else None)
        return body, future
    stream = CapturedStream(body, limit)
    return stream, stream.copy


async def read(body: Body, limit: int) -> bytes | None:
    """``runtime.ReadBody`` for the twin: an upstream body read to its end, or None past ``limit``."""
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body) if len(body) <= limit else None
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in body.chunks():
            size += len(chunk)
            if size > limit:
                body.close()
                return None
            parts.append(chunk)
    except BaseException:
        body.close()
        raise
    body.release()
    return b"".join(parts)
