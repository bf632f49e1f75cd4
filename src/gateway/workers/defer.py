"""Work past the response: ``Platform.defer`` over ``ctx.waitUntil`` of the request that asked."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable
from typing import Any

import js
from pyodide.ffi import create_once_callable

__all__ = ["defer", "request_ctx", "retrieve"]

#: The JS ExecutionContext of the request being served (set by ``serve.serve``).
request_ctx: contextvars.ContextVar[Any] = contextvars.ContextVar("request_ctx")

_background: set[asyncio.Future[Any]] = set()


def defer(work: Awaitable[Any]) -> None:
    """Run ``work`` past the response, under ``waitUntil`` of the request that asked."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(retrieve)
    ctx = request_ctx.get(None)
    if ctx is None:  # outside a request: keep the task alive ourselves
        _background.add(task)
        task.add_done_callback(_background.discard)
        return

    def executor(resolve: Any, _reject: Any) -> None:
        task.add_done_callback(lambda _done: resolve())

    # A real JS Promise, so waitUntil never holds a Python proxy that may be destroyed.
    ctx.waitUntil(js.Promise.new(create_once_callable(executor)))


def retrieve(task: asyncio.Future[Any]) -> None:
    """Done callback of fire-and-forget work: reading the exception keeps asyncio quiet."""
    # Deferred work logs its own failures.
    if not task.cancelled():
        task.exception()
