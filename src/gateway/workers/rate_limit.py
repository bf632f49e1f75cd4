"""``runtime.RateLimiter`` over the optional ``RATE_LIMITER`` (Workers Rate Limiting) binding."""

from __future__ import annotations

from typing import Any

from .natives import can_run_sync, options, run_sync

__all__ = ["JsRateLimiter"]


class JsRateLimiter:
    """``runtime.RateLimiter`` over a Workers Rate Limiting binding."""

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    async def allow(self, key: str) -> bool:
        pending = self._binding.limit(options(key=key))
        # On on_fetch's promising stack (serve.serve_now) the promise is waited for in place.
        outcome = run_sync(pending) if can_run_sync() else await pending
        return bool(outcome.success)
