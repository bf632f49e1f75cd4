"""Host name lookups for the twin's upstream client: one at a time per name, kept briefly.

Why not let ``loop.create_connection`` resolve each time: the event loop runs
``getaddrinfo`` on a small thread pool (libuv's four threads under uvloop,
shared with file I/O), and a lookup cannot be cancelled. When a backend's
name starts failing the slow way -- Docker's embedded DNS forwards the name of
a killed container to a resolver an offline engine cannot reach, and the
lookup fails only after 10 s -- every retry and every health check took
another thread until none was left, and the other backends' lookups, health
checks included, queued behind them: they were marked unhealthy too (found by
the Docker failure suite, docs/docker.md "When a container fails").

So: concurrent lookups of one name share one call (a dead name holds one
thread, not one per request); an answer is kept ``CACHE_S`` seconds, which
also keeps lookups off most new connections; a failure is not kept (the next
caller tries again, still one at a time); and the upstream client forgets a
name's addresses when none of them accepted a connection, since a restarted
container may come back on another address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable

#: How long a lookup's answer is used. Short: Docker gives a restarted container a new address.
CACHE_S = 5.0

#: ``lookup(host, port)`` → the addresses to try, in order.
Lookup = Callable[[str, int], Awaitable[list[str]]]


async def system_lookup(host: str, port: int) -> list[str]:
    """The event loop's ``getaddrinfo`` (TCP), each address once, in the order it gave them."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _retrieve(done: asyncio.Future[list[str]]) -> None:
    # Every waiter may have given up (its deadline): the failure must not be logged as unretrieved.
    if not done.cancelled():
        done.exception()


class Resolver:
    """Single-flight, briefly cached name lookups (see the module docstring)."""

    def __init__(
        self, lookup: Lookup = system_lookup, *, cache_s: float = CACHE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lookup = lookup
        self._cache_s = cache_s
        self._clock = clock
        self._answers: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._pending: dict[tuple[str, int], asyncio.Future[list[str]]] = {}

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses of ``host``; an address literal is its own answer. Raises ``socket.gaierror``."""
        if _is_address(host):
            return [host]
        key = (host, port)
        answer = self._answers.get(key)
        if answer is not None and self._clock() < answer[0]:
            return answer[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(self._resolve(key))
            pending.add_done_callback(_retrieve)
        # Shielded: a caller giving up (its deadline) leaves the lookup to the others.
        return await asyncio.shield(pending)

    def forget(self, host: str, port: int) -> None:
        """Drop a name's kept answer (none of its addresses took a connection)."""
        self._answers.pop((host, port), None)

    async def _resolve(self, key: tuple[str, int]) -> list[str]:
        try:
            found = await self._lookup(*key)
            if not found:
                raise socket.gaierror(socket.EAI_NONAME, "no address")
            self._answers[key] = (self._clock() + self._cache_s, found)
            return found
        finally:
            del self._pending[key]
