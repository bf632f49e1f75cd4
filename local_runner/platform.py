"""The CPython side of the seam: the twin's :class:`~gateway.runtime.Platform`.

Outbound calls go through ``upstream_client.HttpFetch`` (keep-alive
connections on asyncio protocols with the llhttp parser; docs/design.md has
the measurement that chose it over aiohttp's and httpx's clients). KV is
``kv.SqliteKV``, the rate limiter ``rate_limit.TokenBucketLimiter``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import IO, Any

from gateway.runtime import KV, Body, Platform, RateLimiter, SystemClock, UpstreamFetch

from .bodies import UpstreamBody, capture, read
from .metrics import new_metrics
from .rate_limit import SharedTokenBucketLimiter, TokenBucketLimiter


async def discard(body: Body) -> None:
    """Release a fetched body nobody reads (a health check's)."""
    if isinstance(body, UpstreamBody):
        body.release()  # reuses the connection if the (small) body is already in


class LineLog:
    """Writes one line per call; flushed by the server every half second."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout

    def __call__(self, line: str) -> None:
        self._stream.write(line + "\n")

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # closed or broken pipe: logs are best-effort
            self._stream.flush()


class Tasks:
    """``Platform.defer`` for CPython: keep a reference until each task ends."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def __call__(self, awaitable: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_s: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)


def build_platform(
    fetch: UpstreamFetch,
    *,
    log: LineLog,
    tasks: Tasks,
    kv: KV | None,
    rate_limit: tuple[int, int] | None,
    rate_limit_table: Path | None = None,
) -> Platform:
    """Assemble the twin's Platform once, at start-up (``fetch`` is an ``HttpFetch``).

    ``rate_limit_table``: the supervisor's shared bucket table, so a worker's
    limit is the whole twin's (``rate_limit.SharedTokenBucketLimiter``).
    """
    clock = SystemClock()
    limiter: RateLimiter | None = None
    if rate_limit and rate_limit_table is not None:
        limiter = SharedTokenBucketLimiter(str(rate_limit_table), rate_limit[0], rate_limit[1], clock)
    elif rate_limit:
        limiter = TokenBucketLimiter(rate_limit[0], rate_limit[1], clock)
    return Platform(
        fetch=fetch,
        clock=clock,
        log=log,
        defer=tasks,
        discard=discard,
        capture=capture,
        read=read,
        kv=kv,
        rate_limiter=limiter,
        metrics=new_metrics(),
    )
