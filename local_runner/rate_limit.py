"""The twin's stand-in for the Workers Rate Limiting binding."""

from __future__ import annotations

from gateway.runtime import Clock


class TokenBucketLimiter:
    """In-memory per-key limiter: ``requests`` per ``period_s``, refilled smoothly.

    The twin's stand-in for the Workers Rate Limiting binding. Idle keys are
    pruned once the table grows past ``max_keys`` so hostile key churn
    cannot grow memory without bound.
    """

    def __init__(self, requests: int, period_s: float, clock: Clock, *, max_keys: int = 100_000) -> None:
        self._capacity = float(requests)
        self._rate = requests / period_s
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    async def allow(self, key: str) -> bool:
        now = self._clock.monotonic()
        tokens, last = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self._max_keys:
            full = self._capacity - 1e-9
            self._buckets = {
                k: (t, at)
                for k, (t, at) in self._buckets.items()
                if min(self._capacity, t + (now - at) * self._rate) < full
            }
        return allowed
