"""The seam between the gateway core and the runtime it runs on.

The core (everything under ``gateway`` except ``workers``) sees only
the types below. Each runtime supplies one :class:`Platform` at start-up:

* Cloudflare Workers / Pyodide: ``gateway.workers`` (JS fetch, KV
  binding, JS ``Headers``; bodies stay JS ``ReadableStream`` objects).
* CPython: ``local_runner.platform`` (the twin's own HTTP/1.1 client, SQLite KV).
* Unit tests: a plain in-memory platform with a fake ``fetch`` function.

Bodies are opaque: the core hands the body object it received from a runtime
back to the same runtime, and never reads it. ``bytes`` is the one body type
every runtime must accept, because the gateway renders its own JSON answers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .logs import RequestLog

#: A body as a runtime carries it: a JS ReadableStream, an async iterator of
#: bytes, ``bytes`` for the gateway's own answers, or ``None`` for no body.
Body = Any


class Headers(Protocol):
    """A case-insensitive, multi-valued header map (the Fetch ``Headers`` API)."""

    def get(self, name: str) -> str | None:
        """Return the value (several values joined by ``", "``) or None."""

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` with ``value``."""

    def append(self, name: str, value: str) -> None:
        """Add one more value for ``name``."""

    def delete(self, name: str) -> None:
        """Remove every value of ``name``; absent names are ignored."""

    def has(self, name: str) -> bool:
        """Tell whether ``name`` is present."""

    def items(self) -> Iterator[tuple[str, str]]:
        """Yield ``(lower-case name, value)`` pairs."""

    def names(self) -> Iterable[str]:
        """The lower-case names present (a set-like view where the runtime has one)."""

    def copy(self) -> Headers:
        """Return an independent copy of the same runtime type."""


@dataclass(slots=True)
class Request:
    """The core's view of a client request.

    ``url`` is the absolute URL as the runtime received it (path and query
    still percent-encoded); ``client_ip`` is the peer as the runtime knows it
    (the socket peer locally, ``cf-connecting-ip`` on Cloudflare).
    """

    method: str
    url: str
    headers: Headers
    body: Body
    client_ip: str | None = None


@dataclass(slots=True)
class Response:
    """A response travelling back to a runtime: status, headers, opaque body."""

    status: int
    headers: Headers
    body: Body = None
    reason: str = ""


#: What a runtime adapter serves: the gateway's one pipeline (``Gateway.handle``).
Handler = Callable[[Request], Awaitable[Response]]


class UpstreamFetch(Protocol):
    """Send one request to an upstream and return once its headers arrived.

    ``body`` is the opaque client body (or ``None``). Every failure is raised
    as one of four ``gateway.errors.UpstreamError`` subclasses; the runtime
    maps its own exceptions at this boundary:

    * ``UpstreamConnectError``: refused, reset, unresolvable, closed early;
    * ``UpstreamProtocolError``: the upstream answered something not HTTP;
    * ``UpstreamTimeoutError``: no response head within ``timeout_s`` (None:
      no deadline); the upstream request is dropped;
    * ``ClientFault``: the client's own body failed while it was being sent
      (it stalled or grew past the limit); it carries the client's answer.

    The deadline is the runtime's to keep because the cheap way differs: an
    ``asyncio`` timer on CPython, a JS timer that aborts the subrequest on
    Workers (a cancelled ``asyncio`` timer stays armed in Pyodide's loop, with
    a Python callback behind it). The caller may also cancel the awaitable
    (a client gone); implementations must release the connection then.
    """

    def __call__(
        self, method: str, url: str, headers: Headers, body: Body, timeout_s: float | None = None
    ) -> Awaitable[Response]: ...


class KV(Protocol):
    """The subset of Workers KV the gateway uses (string values only)."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        """Store ``value``; ``expiration_ttl`` is in seconds (KV's minimum is 60)."""

    async def list(self, prefix: str) -> list[str]:
        """Return every key that starts with ``prefix`` (all pages)."""

    async def delete(self, key: str) -> None: ...


class Clock(Protocol):
    def wall(self) -> float:
        """Seconds since the Unix epoch (for timestamps shown to people)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin (for durations and TTLs)."""


class SystemClock:
    """``Clock`` over :mod:`time`; in Pyodide these read ``Date.now()``/``performance.now()``."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class Capture(Protocol):
    """Copy a body as it passes (``Platform.capture``), for shadow traffic.

    Returns the body to hand on in place of ``body`` (it carries the same
    bytes, at the same pace, to whoever reads it) and a future of a copy of
    those bytes: ``None`` when the body is longer than ``limit`` or was not
    read to its end. The copy is held in memory, so callers pass only bodies
    whose declared length is within ``limit``. Workers: ``ReadableStream.tee()``
    with the second branch read into Python; CPython: a wrapper that keeps
    the chunks as the server writes them out.
    """

    def __call__(self, body: Body, limit: int) -> tuple[Body, Awaitable[bytes | None]]: ...


class ReadBody(Protocol):
    """Read a fetched body to its end (``Platform.read``): ``None`` past ``limit`` (the rest is dropped)."""

    def __call__(self, body: Body, limit: int) -> Awaitable[bytes | None]: ...


class RateLimiter(Protocol):
    """Answers whether one more request under ``key`` is allowed now."""

    async def allow(self, key: str) -> bool: ...


class Metrics(Protocol):
    """Per-request measurements a runtime keeps (the twin: Prometheus; Workers: Analytics Engine).

    The core calls :meth:`started` when a request begins and :meth:`finished`
    with its completed log line once answered; both must be cheap and must
    not block, they run on every request. ``RequestLog.routed`` tells whether
    ``backend`` is a registered id (labels never come from unchecked client
    input); ``gateway.metrics`` cuts a line into the dimensions both use.

    :attr:`exposes` says whether :meth:`exposition` serves ``GET /_gateway/metrics``
    (the twin keeps its series in the process); a recorder that only sends
    each measurement elsewhere (the Analytics Engine dataset) sets it False and
    the endpoint stays 404.
    """

    exposes: bool

    def started(self) -> None: ...

    def finished(self, line: RequestLog) -> None: ...

    def exposition(self, health: Iterable[tuple[str, str, bool | None]]) -> tuple[str, bytes]:
        """(content type, body) of ``GET /_gateway/metrics``; ``health`` is (id, location, healthy?) per entry."""


@dataclass(frozen=True, slots=True)
class Platform:
    """Everything a runtime provides to the core, built once at start-up.

    ``kv`` is the ``BACKEND_CONFIG_KV`` binding, or None when the runtime has
    none (the twin without ``--kv-path``). ``defer`` schedules work that may
    outlive the response (``ctx.waitUntil`` on Workers, a task on CPython).
    ``discard`` releases a fetched body the core does not forward (a health
    check's). ``capture`` copies a body as it streams past and ``read``
    reads a fetched one (both for shadow traffic, ``gateway.shadow``).
    ``rate_limiter`` is None unless the runtime binds one; ``metrics`` is None
    where the runtime keeps none (then ``/_gateway/metrics`` is 404, as it is
    for a recorder that does not expose, ``Metrics.exposes``). ``shared_waits``
    says whether one request may await work another request started (a health
    check in flight): true on CPython; false on workerd, which wakes a waiter
    only from its own request's context (``HealthMonitor._join``).
    """

    fetch: UpstreamFetch
    clock: Clock
    log: Callable[[str], None]
    defer: Callable[[Awaitable[Any]], None]
    discard: Callable[[Body], Awaitable[None]]
    capture: Capture
    read: ReadBody
    kv: KV | None = None
    rate_limiter: RateLimiter | None = None
    metrics: Metrics | None = None
    shared_waits: bool = True
