"""Write-side flow control shared by the twin's two protocols (server and upstream client)."""

from __future__ import annotations

import asyncio


class WriteGate:
    """What an ``asyncio.Protocol`` needs to stop writing while the transport's buffer is full.

    The protocol's ``pause_writing``/``resume_writing`` call :meth:`pause` and
    :meth:`resume`; a writer checks :attr:`paused` after each write and awaits
    :meth:`drained`; ``connection_lost`` calls :meth:`fail` so a waiting writer
    learns the peer is gone.
    """

    __slots__ = ("_loop", "_waiter", "paused")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self.paused = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    async def drained(self) -> None:
        """Wait until the transport asks for more (or the connection is lost)."""
        waiter = self._waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None
