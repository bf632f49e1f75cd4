"""Shadow traffic: after answering, send a copy of the request to a second backend and compare.

For moving an app from one backend to another. The client is answered by
the backend it chose, as always; a request marked ``x-backend-shadow: <id>``
(or every request, sampled, when ``SHADOW_BACKEND`` is set) is then sent to
that second backend too, under ``Platform.defer``, and the two answers are
compared: status, and the body when both were small enough to keep
(JSON normalised: key order, ``SHADOW_IGNORE_FIELDS`` at any depth).

    ShadowTraffic.plan()    in the pipeline, before forwarding; no I/O:
                            is this request shadowed, and is there room?
    Shadow.copy_request()   the upstream headers copied, the request body teed
    ShadowTraffic.launch()  after the primary's headers: tee its body when its
                            declared length is within the cap, defer the run
    ShadowTraffic._run()    deferred: resolve, health gate, forward, read,
                            compare, count, log (``shadow_divergence``)

**Bodies.** A body the gateway forwards streams to its reader unread; a
copy is only taken when its ``Content-Length`` is at most
``SHADOW_MAX_BODY_BYTES`` (``Platform.capture``: a JS ``tee()`` on Workers,
a chunk-keeping wrapper on the twin), so a copy never holds more than that.
A primary answer without a length, or a longer one, is compared by status
only (``status_only`` counts those). A request body is needed twice for a
write, so writes are shadowed only with ``SHADOW_WRITES=true`` and a declared
length within the same cap (else ``skipped``).

**Bounds.** At most ``SHADOW_MAX_CONCURRENT`` shadows are in flight per
isolate (Workers) or process (twin); a shadow that finds no room is
dropped and counted. Each shadow has ``SHADOW_TIMEOUT_MS`` for everything,
including waiting for the client to finish reading the primary's body. No
failure of a shadow reaches the client: it is counted, logged
(``shadow_failed``) and dropped.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from .backends import BACKEND_ID, Backend, Location
from .errors import GatewayError
from .logs import log_event
from .proxy import forward
from .runtime import Headers, Platform, Request, Response
from .settings import Settings
from .urls import Target

SHADOW_HEADER = "x-backend-shadow"
#: Shadowed without SHADOW_WRITES (RFC 9110 §9.2.1 safe methods the backends serve).
SAFE_METHODS = frozenset({"GET", "HEAD"})
#: A divergence log line lists at most this many JSON paths, and shows this many values.
MAX_PATHS = 20
MAX_SHOWN = 5
MAX_VALUE_CHARS = 80

#: The backend for (id, location), health-gated, or a GatewayError (the pipeline's own rules).
Resolve = Callable[[str, Location], Awaitable[Backend]]


@dataclass(slots=True)
class ShadowCounters:
    """Per isolate or process, since it started; served at ``GET /_gateway/shadow``."""

    compared: int = 0  # both answers in and compared (equal + differing)
    equal: int = 0
    differing: int = 0
    status_only: int = 0  # compared, but the primary body was not kept (no or too long a length)
    failed: int = 0  # the shadow itself failed: unknown backend, unhealthy, refused, timeout, …
    dropped: int = 0  # SHADOW_MAX_CONCURRENT shadows already in flight
    skipped: int = 0  # wanted but not possible: invalid id, or a request body with no/too long a length


@dataclass(slots=True)
class Shadow:
    """One planned shadow request; it holds a concurrency slot until it ends."""

    backend_id: str
    location: Location
    request_id: str
    primary_id: str
    method: str
    parts: Target
    headers: Headers | None = None
    request_body: Awaitable[bytes | None] | None = None

    def copy_request(self, request: Request, headers: Headers, platform: Platform, limit: int) -> Request:
        """Keep a copy of the upstream ``headers`` and tee the body; returns the request to forward."""
        self.headers = headers.copy()
        self.headers.set("x-request-id", self.request_id)
        if request.body is None:
            return request
        body, self.request_body = platform.capture(request.body, limit)
        return replace(request, body=body)


@dataclass(frozen=True, slots=True)
class Difference:
    path: str
    primary: Any
    shadow: Any


_ABSENT: Any = object()


class ShadowTraffic:
    """Plans, runs and counts shadow requests for one gateway (one per isolate/process)."""

    def __init__(
        self,
        settings: Settings,
        platform: Platform,
        resolve: Resolve,
        on_connect_error: Callable[[Backend], None],
        *,
        sample: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.platform = platform
        self.counters = ShadowCounters()
        self.in_flight = 0
        self._resolve = resolve
        self._on_connect_error = on_connect_error
        self._sample = sample
        self._ignore = settings.shadow_ignore_fields
        self._limit = settings.shadow_max_body_bytes

    # -- in the pipeline ---------------------------------------------------------
    def plan(
        self, request: Request, headers: Headers, backend: Backend, request_id: str, parts: Target
    ) -> Shadow | None:
        """Decide whether ``request`` (served by ``backend``) gets a shadow.

        Takes ``x-backend-shadow`` out of the upstream ``headers`` either way.
        The header names a backend for this request (no sampling); otherwise
        ``SHADOW_BACKEND`` applies to ``SHADOW_SAMPLE_RATE`` of requests.
        """
        asked = headers.get(SHADOW_HEADER)
        headers.delete(SHADOW_HEADER)
        if asked is not None:
            target = asked.strip()
            if not BACKEND_ID.fullmatch(target):
                self.counters.skipped += 1
                return None
        elif self.settings.shadow_backend is not None and self._sampled():
            target = self.settings.shadow_backend
        else:
            return None
        # The shadow follows the primary's location rules, so the same id is the same entry.
        if target == backend.id:
            return None
        if request.method not in SAFE_METHODS and not self.settings.shadow_writes:
            return None
        if request.body is not None and not _within(request.headers, self._limit):
            self.counters.skipped += 1
            return None
        if self.in_flight >= self.settings.shadow_max_concurrent:
            self.counters.dropped += 1
            return None
        self.in_flight += 1
        return Shadow(target, backend.type, f"{request_id}-shadow", request_id, request.method, parts)

    def copy_request(self, shadow: Shadow, request: Request, headers: Headers) -> Request:
        """The request to forward to the primary (its body teed for the shadow)."""
        return shadow.copy_request(request, headers, self.platform, self._limit)

    def abandon(self, shadow: Shadow) -> None:
        """The primary failed: no shadow (its answer is the gateway's own error)."""
        self.in_flight -= 1

    def launch(self, shadow: Shadow, response: Response) -> Any:
        """Defer the shadow's run; returns the body to answer with (teed when kept)."""
        body = response.body
        primary_copy: Awaitable[bytes | None] | None = None
        if body is None or _within(response.headers, self._limit):
            body, primary_copy = self.platform.capture(body, self._limit)
        self.platform.defer(self._run(shadow, response.status, primary_copy))
        return body

    # -- deferred ----------------------------------------------------------------------
    async def _run(self, shadow: Shadow, primary_status: int, primary_copy: Awaitable[bytes | None] | None) -> None:
        try:
            async with asyncio.timeout(self.settings.shadow_timeout_s):
                await self._exchange(shadow, primary_status, primary_copy)
        except TimeoutError:
            self._failed(shadow, "timeout")
        except GatewayError as exc:
            self._failed(shadow, exc.code)
        except Exception as exc:  # noqa: BLE001 — a shadow's failure never reaches anyone but the log
            self._failed(shadow, f"internal:{type(exc).__name__}")
        finally:
            self.in_flight -= 1

    async def _exchange(
        self, shadow: Shadow, primary_status: int, primary_copy: Awaitable[bytes | None] | None
    ) -> None:
        body: bytes | None = None
        if shadow.request_body is not None:
            body = await shadow.request_body
            if body is None:  # the primary did not read the client's body to its end
                self.counters.skipped += 1
                return
        backend = await self._resolve(shadow.backend_id, shadow.location)
        assert shadow.headers is not None
        request = Request(shadow.method, "", shadow.headers, body)
        response = await forward(
            request,
            shadow.parts,
            shadow.headers,
            backend,
            platform=self.platform,
            timeout_s=self.settings.shadow_timeout_s,
            on_connect_error=self._on_connect_error,
        )
        primary_body = None if primary_copy is None else await primary_copy
        if primary_body is None:
            await self.platform.discard(response.body)
            shadow_body = None
        else:
            shadow_body = await self.platform.read(response.body, self._limit)
        self._compare(shadow, primary_status, primary_body, response.status, shadow_body)

    def _compare(
        self,
        shadow: Shadow,
        primary_status: int,
        primary_body: bytes | None,
        shadow_status: int,
        shadow_body: bytes | None,
    ) -> None:
        counters = self.counters
        counters.compared += 1
        differences: list[Difference] = []
        if primary_status != shadow_status:
            differences.append(Difference("status", primary_status, shadow_status))
        bodies_compared = primary_body is not None and shadow_body is not None
        if primary_body is not None and shadow_body is not None:
            differences += compare_bodies(primary_body, shadow_body, self._ignore)
        else:
            counters.status_only += 1
        if not differences:
            counters.equal += 1
            return
        counters.differing += 1
        self._event(
            "shadow_divergence",
            shadow,
            status={"primary": primary_status, "shadow": shadow_status},
            body_compared=bodies_compared,
            paths=[d.path for d in differences],
            diff=[
                {"path": d.path, "primary": _short(d.primary), "shadow": _short(d.shadow)}
                for d in differences[:MAX_SHOWN]
            ],
        )

    def _failed(self, shadow: Shadow, reason: str) -> None:
        self.counters.failed += 1
        self._event("shadow_failed", shadow, reason=reason)

    def _event(self, event: str, shadow: Shadow, **fields: Any) -> None:
        """One log line about ``shadow``: both request ids and what was copied where."""
        log_event(
            self.platform.log,
            self.platform.clock.wall(),
            event,
            request_id=shadow.primary_id,
            shadow_request_id=shadow.request_id,
            method=shadow.method,
            path=shadow.parts.path,
            shadow_backend=shadow.backend_id,
            location=shadow.location,
            **fields,
        )

    def _sampled(self) -> bool:
        rate = self.settings.shadow_sample_rate
        return rate >= 1.0 or (rate > 0.0 and self._sample() < rate)

    def report(self) -> dict[str, Any]:
        """What ``GET /_gateway/shadow`` shows: settings, in flight, counters."""
        settings = self.settings
        return {
            "scope": "this isolate or process, since it started",
            "backend": settings.shadow_backend,
            "sample_rate": settings.shadow_sample_rate,
            "writes": settings.shadow_writes,
            "max_concurrent": settings.shadow_max_concurrent,
            "max_body_bytes": settings.shadow_max_body_bytes,
            "in_flight": self.in_flight,
            "counters": asdict(self.counters),
        }


def _within(headers: Headers, limit: int) -> bool:
    """The declared Content-Length is at most ``limit`` (no length: unknown, so no)."""
    raw = headers.get("content-length")
    if raw is None:
        return False
    value = raw.split(",")[0].strip()
    return value.isdigit() and int(value) <= limit


def compare_bodies(primary: bytes, shadow: bytes, ignore: frozenset[str]) -> list[Difference]:
    """JSON paths where two bodies differ (JSON normalised), or ``$`` for unequal non-JSON bodies.

    >>> compare_bodies(b'{"a":1,"id":5}', b'{"id":6,"a":2}', frozenset({"id"}))
    [Difference(path='$.a', primary=1, shadow=2)]
    """
    try:
        left, right = json.loads(primary), json.loads(shadow)
    except ValueError:  # either is not JSON (UnicodeDecodeError is a ValueError too)
        if primary == shadow:
            return []
        return [Difference("$", _text(primary), _text(shadow))]
    found: list[Difference] = []
    _walk(left, right, "$", ignore, found)
    return found


def _walk(left: Any, right: Any, path: str, ignore: frozenset[str], found: list[Difference]) -> None:
    if len(found) >= MAX_PATHS:
        return
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if key not in ignore:
                _walk(left.get(key, _ABSENT), right.get(key, _ABSENT), _child(path, key), ignore, found)
    elif isinstance(left, list) and isinstance(right, list):
        for index in range(max(len(left), len(right))):
            _walk(
                left[index] if index < len(left) else _ABSENT,
                right[index] if index < len(right) else _ABSENT,
                f"{path}[{index}]",
                ignore,
                found,
            )
    elif not _same(left, right):
        found.append(Difference(path, left, right))


def _same(left: Any, right: Any) -> bool:
    # JSON has one number type (1 == 1.0) but true is not 1.
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers):
        return left == right
    return type(left) is type(right) and left == right


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _text(body: bytes) -> str:
    return body[: MAX_VALUE_CHARS * 2].decode("utf-8", "replace")


def _short(value: Any) -> Any:
    """A value for the log line: absent as ``"<absent>"``, long ones cut."""
    if value is _ABSENT:
        return "<absent>"
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
