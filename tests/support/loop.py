"""An asyncio loop on a background thread, for servers that tests run in-process."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """``start()``, then ``run(coro)`` from the test's thread; ``close()`` at the end."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 10) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class ThreadedServer:
    """A test server on its own loop thread: ``with Server() as state: …``.

    Subclasses set ``self.state`` and implement ``_start()`` (listen) and
    ``_stop()`` (stop listening, drop connections); ``stop()`` may be called
    early to make the port refuse, as a killed backend would.
    """

    state: Any

    def __init__(self) -> None:
        self._loop = LoopThread()
        self._listening = False

    def __enter__(self) -> Any:
        self._loop.start()
        self._loop.run(self._start())
        self._listening = True
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._loop.close()

    def stop(self) -> None:
        if self._listening:
            self._loop.run(self._stop())
            self._listening = False

    async def _start(self) -> None:
        raise NotImplementedError

    async def _stop(self) -> None:
        raise NotImplementedError
