"""Bodies as the twin carries them: the client's, streamed up; the upstream's, streamed down.

``capture`` and ``read`` are the twin's ``Platform.capture``/``Platform.read``
(shadow traffic): a copy is kept as chunks pass, never by reading ahead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable

import aiohttp

from gateway.errors import ClientError, PayloadTooLarge, RequestTimeout
from gateway.runtime import Body


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

    def close(self) -> None:
        """Drop the connection (the body was not read to its end)."""
        raise NotImplementedError

    def release(self) -> None:
        """Return the connection to the pool (the body was read to its end)."""
        raise NotImplementedError


class ClientBody:
    """A client's request body, streamed to the upstream with the twin's limits.

    The core's Content-Length check cannot see a chunked body, so the limit
    (MAX_BODY_BYTES) is counted here as the bytes pass; ``idle_timeout_s``
    (CLIENT_BODY_TIMEOUT_MS) bounds each wait for the next piece. Either
    failure is kept in ``failure`` and the outbound request is aborted, so the
    upstream never sees a complete request; the fetch then raises
    ``ClientFault(failure)`` (413 or 408) instead of blaming the backend.
    """

    __slots__ = ("_before_first_read", "_content", "_idle_timeout_s", "_limit", "failure")

    def __init__(
        self,
        content: aiohttp.StreamReader,
        *,
        limit: int = 0,
        idle_timeout_s: float | None = None,
        before_first_read: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._content = content
        self._limit = limit
        self._idle_timeout_s = idle_timeout_s
        self._before_first_read = before_first_read  # e.g. send "100 Continue"
        self.failure: ClientError | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._before_first_read is not None:
            await self._before_first_read()
        received = 0
        while True:
            try:
                async with asyncio.timeout(self._idle_timeout_s):
                    chunk = await self._content.readany()
            except TimeoutError:
                self.failure = RequestTimeout()
                raise _ClientBodyAbort() from None
            if not chunk:
                return
            received += len(chunk)
            if self._limit and received > self._limit:
                self.failure = PayloadTooLarge()
                raise _ClientBodyAbort()
            yield chunk


class _ClientBodyAbort(Exception):
    """Stops the outbound body; deliberately not an OSError or a TimeoutError,
    which aiohttp would report as a connection failure or an upstream timeout."""


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
