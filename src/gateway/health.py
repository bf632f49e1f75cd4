"""Backend health without a round trip per request.

Each backend entry has one cached :class:`HealthStatus`. A request is
gated on it:

* fresh result → used as is (healthy results stay fresh for ``HEALTH_TTL_S``,
  unhealthy ones for ``HEALTH_RETRY_S`` so a recovered backend is noticed soon);
* stale healthy result → used, and one background re-check is started;
* no result, or a stale unhealthy one → the request waits for a check.

At most one check per entry is in flight; concurrent requests share it, or
use the last result while it runs. When the runtime has a KV namespace the
results are shared through it (key ``health:<id>@<location>``), so isolates
don't each probe every backend; KV's 60 s minimum ``expirationTtl`` is why
the check time travels inside the value. A connection failure while proxying
marks the entry unhealthy at once (:meth:`HealthMonitor.mark_unhealthy`), and
so do ``OUTLIER_CONSECUTIVE_5XX`` 5xx answers in a row to real traffic
(:meth:`HealthMonitor.observe`, Envoy's ``consecutive_5xx``: docs/design.md).

The listing (``/_gateway/backends``) shows :meth:`HealthMonitor.current_all`:
a result past its freshness is checked again there and then, every entry
concurrently, each bounded by ``HEALTH_TIMEOUT_MS``, so a frozen backend is
never shown healthy past ``HEALTH_TTL_S`` and never holds up the others.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import asdict, dataclass
from typing import Literal

from .backends import Backend
from .errors import BackendUnhealthy
from .headers import HeaderMap
from .logs import log_event
from .runtime import Platform
from .settings import Settings

Status = Literal["healthy", "unhealthy"]
KV_PREFIX = "health:"
_KV_MIN_TTL_S = 60
#: With a shared KV, a result another instance checked is trusted this share of
#: HEALTH_TTL_S (at most _GRACE_MAX_S) longer than the checker trusts its own:
#: the checker re-checks on time and shares, and the others then read its fresh
#: result instead of all finding the old one stale at the same instant and each
#: re-checking (one check per TTL, not one per instance).
_GRACE_SHARE = 0.1
_GRACE_MAX_S = 1.0


def _slot(backend: Backend) -> str:
    """Results belong to an entry *and* its URL: a changed URL starts afresh."""
    return f"{backend.key} {backend.url}"


def url_digest(backend: Backend) -> str:
    """A short digest of the URL, so shared results never name it in KV."""
    import hashlib  # needed only once a KV is shared

    return hashlib.sha256(backend.url.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class HealthStatus:
    status: Status
    checked_at: float  # seconds since the epoch
    latency_ms: float | None

    @property
    def healthy(self) -> bool:
        return self.status == "healthy"


class HealthMonitor:
    def __init__(self, settings: Settings, platform: Platform, *, adopted_grace_s: float | None = None) -> None:
        """``adopted_grace_s``: how much longer than ``HEALTH_TTL_S`` a result read from the shared KV is trusted."""
        self._platform = platform
        if adopted_grace_s is None:
            adopted_grace_s = (
                min(_GRACE_MAX_S, _GRACE_SHARE * settings.health_ttl_s) if platform.kv is not None else 0.0
            )
        self._grace_s = adopted_grace_s
        self._ttl_s = settings.health_ttl_s
        self._retry_s = min(settings.health_retry_s, settings.health_ttl_s)
        self._timeout_s = settings.health_timeout_s
        self._kv_ttl = max(_KV_MIN_TTL_S, math.ceil(settings.health_ttl_s * 2))
        self._results: dict[str, HealthStatus] = {}
        self._own: set[str] = set()  # slots whose result this instance checked (or marked) itself
        self._checks: dict[str, asyncio.Task[HealthStatus]] = {}
        self._outlier_5xx = settings.outlier_consecutive_5xx
        self._streaks: dict[str, int] = {}  # slot → 5xx answers in a row to real traffic

    def last(self, backend: Backend) -> HealthStatus | None:
        """The last known result for ``backend`` (no I/O)."""
        return self._results.get(_slot(backend))

    async def shown(self, backend: Backend) -> HealthStatus | None:
        """The result to show for ``backend``: the one shared through KV if any, else this instance's.

        For answers that show health (``/_gateway/backends``, metrics): every
        instance sharing a KV reads the same value there, so they all show
        the same result. One KV read; a newer shared result is also kept.
        """
        last = self._results.get(_slot(backend))
        shared = await self._read_shared(backend)
        if shared is None:
            return last
        if last is None or shared.checked_at > last.checked_at:
            self._adopt(backend, shared)
        return shared

    async def shown_all(self, backends: list[Backend]) -> list[HealthStatus | None]:
        """:meth:`shown` for each of ``backends``, the KV reads concurrently (a listing waits for one, not N)."""
        return list(await asyncio.gather(*(self.shown(backend) for backend in backends)))

    async def current(self, backend: Backend) -> HealthStatus:
        """The result to show for ``backend`` now: :meth:`shown` while fresh, else a new check.

        Unlike :meth:`gate`, a stale healthy result is not shown while a check runs behind:
        the listing waits for the check (at most ``HEALTH_TIMEOUT_MS``), so it never shows a
        dead or frozen backend healthy for longer than ``HEALTH_TTL_S``. One check per entry
        at a time, shared with :meth:`gate`.
        """
        slot = _slot(backend)
        # The shared result when there is one, as shown(): every instance shows the same.
        shown = await self.shown(backend)
        # own=True: no grace for a result another instance checked; the listing is held to the TTL.
        if shown is not None and self._fresh(shown, own=True):
            return shown
        check = self._checks.get(slot)
        if check is None:
            return await asyncio.shield(self._start(backend))
        return await self._join(backend, check)

    async def current_all(self, backends: list[Backend]) -> list[HealthStatus]:
        """:meth:`current` for each of ``backends``, concurrently: a stuck one costs one health timeout, once."""
        return list(await asyncio.gather(*(self.current(backend) for backend in backends)))

    async def gate(self, backend: Backend) -> None:
        """Return if ``backend`` may take traffic, else raise BackendUnhealthy."""
        slot = _slot(backend)
        result = self._results.get(slot)
        if result is None or not self._fresh(result, slot in self._own):
            result = await self._refresh(backend, result)
        if not result.healthy:
            raise BackendUnhealthy(backend.id)

    def observe(self, backend: Backend, status: int) -> None:
        """Passive check on real traffic: ``OUTLIER_CONSECUTIVE_5XX`` 5xx answers in a row mark it unhealthy.

        Any answer below 500 (a 4xx is the client's fault, not the backend's) ends the streak.
        Only answers the backend gave count: timeouts and non-HTTP replies are left to the
        active check, and refused connections are marked at once (mark_unhealthy). The count is this instance's; the mark is shared like a connect failure.
        """
        if self._outlier_5xx == 0:
            return
        slot = _slot(backend)
        if status < 500:
            self._streaks.pop(slot, None)
            return
        streak = self._streaks.get(slot, 0) + 1
        if streak < self._outlier_5xx:
            self._streaks[slot] = streak
            return
        log_event(
            self._platform.log,
            self._platform.clock.wall(),
            "outlier_ejected",
            backend=backend.key,
            consecutive_5xx=streak,
        )
        self.mark_unhealthy(backend)

    def mark_unhealthy(self, backend: Backend) -> None:
        """Passive check: the proxy could not connect to ``backend`` (or it kept answering 5xx)."""
        self._streaks.pop(_slot(backend), None)
        result = HealthStatus("unhealthy", self._platform.clock.wall(), None)
        self._keep_own(backend, result)
        self._share(backend, result)

    def _fresh(self, result: HealthStatus, own: bool) -> bool:
        age = self._platform.clock.wall() - result.checked_at
        return 0 <= age < (self._ttl_s if result.healthy else self._retry_s) + (0.0 if own else self._grace_s)

    def _adopt(self, backend: Backend, shared: HealthStatus) -> None:
        """Keep a result another instance checked: trusted a grace longer, so its checker re-checks first."""
        slot = _slot(backend)
        self._results[slot] = shared
        self._own.discard(slot)

    def _keep_own(self, backend: Backend, result: HealthStatus) -> None:
        slot = _slot(backend)
        self._results[slot] = result
        self._own.add(slot)

    async def _refresh(self, backend: Backend, last: HealthStatus | None) -> HealthStatus:
        shared = await self._read_shared(backend)
        if shared is not None and (last is None or shared.checked_at > last.checked_at):
            self._adopt(backend, shared)
            last = shared
            if self._fresh(shared, own=False):
                return shared
        check = self._checks.get(_slot(backend))
        if check is None:
            started = self._start(backend)
            if last is not None and last.healthy:
                # Stale but healthy: answer now, let the check finish behind us.
                self._platform.defer(started)
                return last
            return await asyncio.shield(started)
        if last is not None and last.healthy:
            return last
        return await self._join(backend, check)

    def _start(self, backend: Backend) -> asyncio.Task[HealthStatus]:
        """Start the entry's one registered check (single flight: later callers find it in ``_checks``)."""
        check = asyncio.ensure_future(self._check(backend, registered=True))
        self._checks[_slot(backend)] = check
        return check

    async def _join(self, backend: Backend, check: asyncio.Task[HealthStatus]) -> HealthStatus:
        """Wait for a check another request started, or, where requests cannot share waits, check anew.

        On workerd a promise belongs to the request that created it: a request
        awaiting a check another request started is woken from that request's
        context, which workerd ignores, so it hangs until workerd cancels it
        (a 500). There (``Platform.shared_waits`` False) each waiting request
        runs its own check, bounded by ``HEALTH_TIMEOUT_MS`` like any other.
        """
        if self._platform.shared_waits:
            return await asyncio.shield(check)
        return await self._check(backend, registered=False)

    async def _check(self, backend: Backend, *, registered: bool) -> HealthStatus:
        clock = self._platform.clock
        started = clock.monotonic()
        headers = HeaderMap(
            [("accept", "application/json"), ("user-agent", "gtd-gateway-health"), *backend.upstream_headers]
        )
        try:
            try:
                # The runtime's fetch keeps the deadline; discard does not wait on the network.
                response = await self._platform.fetch(
                    "GET", backend.url + backend.health_path, headers, None, self._timeout_s
                )
                await self._platform.discard(response.body)
                healthy = 200 <= response.status < 300
            except Exception as exc:  # noqa: BLE001 — timeout, refused, garbage: all mean unhealthy
                healthy = False
                log_event(
                    self._platform.log,
                    clock.wall(),
                    "health_check_failed",
                    backend=backend.key,
                    error=type(exc).__name__,
                )
            latency = round((clock.monotonic() - started) * 1000, 3)
            result = HealthStatus("healthy" if healthy else "unhealthy", clock.wall(), latency if healthy else None)
            self._keep_own(backend, result)
            self._share(backend, result)
            return result
        finally:
            if registered:
                self._checks.pop(_slot(backend), None)

    async def _read_shared(self, backend: Backend) -> HealthStatus | None:
        kv = self._platform.kv
        if kv is None:
            return None
        try:
            raw = await kv.get(KV_PREFIX + backend.key)
            if raw is None:
                return None
            doc = json.loads(raw)
            status = doc["status"]
            if status not in ("healthy", "unhealthy"):
                raise ValueError("bad status")
            result = HealthStatus(status, float(doc["checked_at"]), doc.get("latency_ms"))
            # A result for a URL this entry no longer has says nothing about it.
            return result if doc.get("target") == url_digest(backend) else None
        except Exception as exc:  # noqa: BLE001 — a shared cache is an optimisation: never fail on it
            log_event(
                self._platform.log,
                self._platform.clock.wall(),
                "health_kv_error",
                backend=backend.key,
                error=type(exc).__name__,
            )
            return None

    def _share(self, backend: Backend, result: HealthStatus) -> None:
        kv = self._platform.kv
        if kv is None:
            return

        async def put() -> None:
            try:
                value = json.dumps({**asdict(result), "target": url_digest(backend)})
                await kv.put(KV_PREFIX + backend.key, value, expiration_ttl=self._kv_ttl)
            except Exception as exc:  # noqa: BLE001
                log_event(
                    self._platform.log,
                    self._platform.clock.wall(),
                    "health_kv_error",
                    backend=backend.key,
                    error=type(exc).__name__,
                )

        self._platform.defer(put())
