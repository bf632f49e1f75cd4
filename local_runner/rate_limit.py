"""The twin's stand-in for the Workers Rate Limiting binding.

:class:`TokenBucketLimiter` keeps its buckets in the process;
:class:`SharedTokenBucketLimiter` keeps them in one memory-mapped table that
every worker of ``--workers N`` shares, so the limit is the whole twin's.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct

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


#: One bucket in the shared table: key digest (0 = empty slot), tokens, last refill (CLOCK_MONOTONIC, system-wide).
_SLOT = struct.Struct("<Qdd")
#: How many neighbouring slots a key may live in (linear probing); bounds the work per call.
PROBE = 16


class SharedTokenBucketLimiter:
    """The same token bucket, one table for every worker of a multi-worker twin.

    The table is a fixed-size file (``create`` sizes it once, before the
    workers start) that each worker maps into memory; one ``flock`` on it
    makes each read-refill-write atomic across processes. ``time.monotonic``
    reads CLOCK_MONOTONIC, which is one clock for the whole machine, so
    workers agree on refills. Keys are stored as 64-bit BLAKE2b digests
    (Python's ``hash`` differs per process).

    Memory is bounded by construction: ``slots`` buckets, never more. A new
    key takes an empty slot in its probe window, else one whose bucket has
    refilled (an idle key: forgetting it changes nothing), else the fullest
    one (the key closest to idle loses the least).
    """

    def __init__(self, path: str, requests: int, period_s: float, clock: Clock) -> None:
        self._capacity = float(requests)
        self._rate = requests / period_s
        self._clock = clock
        self._fd = os.open(path, os.O_RDWR)
        size = os.fstat(self._fd).st_size
        self._slots = size // _SLOT.size
        if self._slots < PROBE:
            os.close(self._fd)
            raise ValueError(f"{path}: not a rate-limit table (run create() first)")
        self._map = mmap.mmap(self._fd, self._slots * _SLOT.size)

    @staticmethod
    def create(path: str, slots: int = 1 << 17) -> None:
        """Write an empty table of ``slots`` buckets (24 bytes each; the default is 3 MiB)."""
        with open(path, "wb") as handle:
            handle.truncate(max(slots, PROBE) * _SLOT.size)

    async def allow(self, key: str) -> bool:
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1
        start = digest % self._slots
        table = self._map
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            now = self._clock.monotonic()
            slot = -1
            victim, victim_tokens = -1, -1.0
            for i in range(PROBE):
                at = ((start + i) % self._slots) * _SLOT.size
                held, tokens, last = _SLOT.unpack_from(table, at)
                if held == digest:
                    slot = at
                    tokens = min(self._capacity, tokens + (now - last) * self._rate)
                    break
                if held == 0:
                    # Slots are never emptied, so a key lives before the first
                    # empty slot of its window: it is new.
                    if victim_tokens < self._capacity:
                        victim = at
                    slot, tokens = victim, self._capacity
                    break
                refilled = min(self._capacity, tokens + (now - last) * self._rate)
                if refilled > victim_tokens:
                    victim, victim_tokens = at, refilled
            else:
                slot, tokens = victim, self._capacity  # a new key starts full
            allowed: bool = tokens >= 1.0
            _SLOT.pack_into(table, slot, digest, tokens - 1.0 if allowed else tokens, now)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        return allowed

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
