"""Bodies as the twin carries them: the client's, streamed up; the upstream's, streamed down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp

from gateway.errors import ClientError, PayloadTooLarge, RequestTimeout


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
