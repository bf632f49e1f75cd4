"""The CPython side of the seam: outbound fetch, KV, clock, log, rate limits.

Outbound calls go through ``upstream_client.HttpFetch``: keep-alive
connections on asyncio protocols with the llhttp parser, which costs a
fraction of the CPU of ``aiohttp.ClientSession`` per proxied request
(docs/design.md has the figures). ``TWIN_UPSTREAM_CLIENT=aiohttp`` selects the
aiohttp client (:class:`AiohttpFetch`) instead, to compare the two.
httpx is the project's named client, but its default transport measured far
slower under concurrency on this machine, so the twin does not use it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import IO, Any

import aiohttp
import yarl

from gateway.errors import GatewayError, PayloadTooLarge, RequestTimeout, UpstreamConnectError, UpstreamProtocolError
from gateway.headers import HeaderMap
from gateway.runtime import Body, Platform, Response, UpstreamFetch
from gateway.urls import split_url

CHUNK = 64 * 1024

# aiohttp adds these unless told not to; a proxy must forward only what the
# client sent (an added Accept-Encoding would make upstreams compress bodies
# the client never asked to be compressed).
_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class UpstreamBody:
    """An upstream response body as the twin's server streams it out.

    ``chunks()`` yields the body; it raises ``ConnectionResetError`` when the
    upstream breaks the body off or stalls longer than the idle timeout
    (the twin reuses UPSTREAM_TIMEOUT_MS), so the server cuts its client too.
    The server then calls ``release()`` after the last chunk or ``close()``
    when it stopped early; ``discard`` releases a body nobody reads.
    """

    __slots__ = ()

    def chunks(self) -> AsyncIterator[bytes]:
        raise NotImplementedError

    def close(self) -> None:
        """Drop the connection (the body was not read to its end)."""
        raise NotImplementedError

    def release(self) -> None:
        """Return the connection to the pool (the body was read to its end)."""
        raise NotImplementedError


class AiohttpBody(UpstreamBody):
    """:class:`UpstreamBody` over an ``aiohttp.ClientResponse``."""

    __slots__ = ("_response", "_idle_timeout_s")

    def __init__(self, response: aiohttp.ClientResponse, idle_timeout_s: float | None = None) -> None:
        self._response = response
        self._idle_timeout_s = idle_timeout_s

    async def chunks(self) -> AsyncIterator[bytes]:
        content = self._response.content
        try:
            while True:
                async with asyncio.timeout(self._idle_timeout_s):
                    chunk = await content.readany()
                if not chunk:
                    return
                yield chunk
        except TimeoutError:
            raise ConnectionResetError("upstream body stalled") from None
        except aiohttp.ClientPayloadError as exc:
            # The upstream broke the body off (reset, bad chunking): the
            # status line is gone already, so the only honest signal left is
            # to cut the client's connection too.
            raise ConnectionResetError("upstream body ended early") from exc

    def close(self) -> None:
        self._response.close()

    def release(self) -> None:
        self._response.release()


class ClientBody:
    """A client's request body, streamed to the upstream with the twin's limits.

    The core's Content-Length check cannot see a chunked body, so the limit
    (MAX_BODY_BYTES) is counted here as the bytes pass; ``idle_timeout_s``
    (CLIENT_BODY_TIMEOUT_MS) bounds each wait for the next piece. Either
    failure is kept in ``failure`` and the outbound request is aborted, so the
    upstream never sees a complete request; ``AiohttpFetch`` then raises
    ``failure`` (413 or 408) instead of blaming the backend.
    """

    __slots__ = ("_content", "_limit", "_idle_timeout_s", "_before_first_read", "failure")

    def __init__(
        self,
        content: aiohttp.StreamReader,
        *,
        limit: int = 0,
        idle_timeout_s: float | None = None,
        before_first_read: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._content = content
        self._limit = limit
        self._idle_timeout_s = idle_timeout_s
        self._before_first_read = before_first_read  # e.g. send "100 Continue"
        self.failure: GatewayError | None = None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._before_first_read is not None:
            await self._before_first_read()
        received = 0
        while True:
            try:
                async with asyncio.timeout(self._idle_timeout_s):
                    chunk = await self._content.readany()
            except TimeoutError:
                self.failure = RequestTimeout()
                raise _ClientBodyAbort() from None
            if not chunk:
                return
            received += len(chunk)
            if self._limit and received > self._limit:
                self.failure = PayloadTooLarge()
                raise _ClientBodyAbort()
            yield chunk


class _ClientBodyAbort(Exception):
    """Stops the outbound body; deliberately not an OSError or a TimeoutError,
    which aiohttp would report as a connection failure or an upstream timeout."""


class AiohttpFetch:
    """``runtime.UpstreamFetch`` over one shared aiohttp session (``TWIN_UPSTREAM_CLIENT=aiohttp``)."""

    def __init__(self, session: aiohttp.ClientSession, *, body_idle_timeout_s: float | None = None) -> None:
        self._session = session
        self._body_idle_timeout_s = body_idle_timeout_s

    async def __call__(self, method: str, url: str, headers: Any, body: Body) -> Response:
        try:
            upstream = await self._session.request(
                method,
                _verbatim(url),
                headers=list(headers.items()),
                data=body,
                allow_redirects=False,
            )
        except aiohttp.ClientError as exc:
            if isinstance(body, ClientBody) and body.failure is not None:
                raise body.failure from None  # the client's fault, not the backend's
            if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
                raise UpstreamConnectError(type(exc).__name__) from exc
            # ClientResponseError, ClientPayloadError, InvalidURL and friends: not a valid exchange
            raise UpstreamProtocolError(type(exc).__name__) from exc
        return Response(
            upstream.status,
            headers_from_raw(upstream.raw_headers),
            AiohttpBody(upstream, self._body_idle_timeout_s),
            upstream.reason or "",
        )

    async def close(self) -> None:
        await self._session.close()


def _verbatim(url: str) -> yarl.URL:
    """The URL with its path and query exactly as the client sent them.

    yarl would otherwise normalise them (``/a/../b`` → ``/b``, ``%2e%2e``
    decoded and removed, ``%0d`` → ``%0D``, ``%zz`` → ``%25zz``), so the backend
    would serve a different resource than the one the client asked for.
    The scheme and host come from the registry and are parsed as usual.
    """
    parts = split_url(url)
    base = yarl.URL(f"{parts.scheme}://{parts.netloc}")
    return yarl.URL.build(
        scheme=base.scheme, authority=base.raw_authority, path=parts.path, query_string=parts.query, encoded=True
    )


def new_session(*, limit: int = 0) -> aiohttp.ClientSession:
    """The twin's outbound session: pooled, no decompression, no added headers."""
    connector = aiohttp.TCPConnector(limit=limit, ttl_dns_cache=60, enable_cleanup_closed=True)
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        skip_auto_headers=_SKIP_AUTO_HEADERS,
        timeout=aiohttp.ClientTimeout(total=None),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def new_fetch(*, body_idle_timeout_s: float | None = None, client: str | None = None) -> Any:
    """The twin's ``UpstreamFetch`` (with an ``async close()``), chosen once at start-up.

    ``client`` is ``TWIN_UPSTREAM_CLIENT`` ("aiohttp" or the default, ours).
    """
    if (client or "").strip().lower() == "aiohttp":
        return AiohttpFetch(new_session(), body_idle_timeout_s=body_idle_timeout_s)
    from .upstream_client import HttpFetch  # it builds on this module's UpstreamBody

    return HttpFetch(body_idle_timeout_s=body_idle_timeout_s)


async def discard(body: Body) -> None:
    if isinstance(body, AiohttpBody):
        body.close()
    elif isinstance(body, UpstreamBody):
        body.release()  # reuses the connection if the (small) body is already in


class SqliteKV:
    """``runtime.KV`` in one SQLite file, so cloud mode runs locally too.

    Expired keys read as absent, as in Workers KV. Calls are synchronous
    SQLite statements: they take microseconds and the gateway caches what it
    reads, so a thread hop would cost more than it saves.
    """

    def __init__(self, path: str, clock: SystemClock | None = None, *, busy_timeout_s: float = 0.0) -> None:
        # Calls run on the event loop, so a lock held by another process
        # must fail at once (the registry and health cache cope) rather than
        # wait sqlite's default 5 s with every request frozen behind it.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)"
        )
        self._clock = clock or SystemClock()

    async def get(self, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, self._clock.wall()),
        ).fetchone()
        return row[0] if row else None

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        expires = None if expiration_ttl is None else self._clock.wall() + expiration_ttl
        self._db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, expires),
        )

    async def list(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute(
            "SELECT key FROM kv WHERE key LIKE ? ESCAPE '\\' AND (expires_at IS NULL OR expires_at > ?) ORDER BY key",
            (escaped + "%", self._clock.wall()),
        ).fetchall()
        return [r[0] for r in rows]

    async def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def close(self) -> None:
        self._db.close()


class FaultInjectingKV:
    """A KV whose every call fails while a trigger file exists (``--kv-fault-file``).

    A test aid: an open SQLite connection keeps working when its file is
    replaced or made unreadable, so the twin offers this switch to make its
    KV fail the way an outage of Workers KV does, without touching the code
    under test (the registry and health cache see a real exception).
    """

    def __init__(self, kv: SqliteKV, trigger: str) -> None:
        self._kv = kv
        self._trigger = trigger

    def _check(self) -> None:
        if os.path.exists(self._trigger):
            raise sqlite3.OperationalError("injected KV fault")

    async def get(self, key: str) -> str | None:
        self._check()
        return await self._kv.get(key)

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        self._check()
        await self._kv.put(key, value, expiration_ttl)

    async def list(self, prefix: str) -> list[str]:
        self._check()
        return await self._kv.list(prefix)

    async def delete(self, key: str) -> None:
        self._check()
        await self._kv.delete(key)


class SystemClock:
    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class TokenBucketLimiter:
    """In-memory per-key limiter: ``requests`` per ``period_s``, refilled smoothly.

    The twin's stand-in for the Workers Rate Limiting binding. Idle keys are
    pruned once the table grows past ``max_keys`` so hostile key churn
    cannot grow memory without bound.
    """

    def __init__(self, requests: int, period_s: float, clock: SystemClock, *, max_keys: int = 100_000) -> None:
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
                k: (t, at) for k, (t, at) in self._buckets.items()
                if min(self._capacity, t + (now - at) * self._rate) < full
            }
        return allowed


class LineLog:
    """Writes one line per call; flushed by the server every half second."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stdout

    def __call__(self, line: str) -> None:
        self._stream.write(line + "\n")

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: logs are best-effort
            pass


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
    kv: SqliteKV | FaultInjectingKV | None,
    rate_limit: tuple[int, int] | None,
) -> Platform:
    """Assemble the twin's Platform once, at start-up (``fetch`` from :func:`new_fetch`)."""
    clock = SystemClock()
    limiter = TokenBucketLimiter(rate_limit[0], rate_limit[1], clock) if rate_limit else None
    return Platform(
        fetch=fetch,
        new_headers=HeaderMap,
        clock=clock,
        log=log,
        defer=tasks,
        discard=discard,
        kv=kv,
        rate_limiter=limiter,
    )


def read_env_file(path: str) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional quotes."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export "):]
            key, sep, value = line.partition("=")
            key = key.strip()
            if not sep or not key.replace("_", "").isalnum():
                raise ValueError(f"{path}:{number}: expected KEY=VALUE")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key] = value
    return values


def headers_from_raw(raw: Iterable[tuple[bytes, bytes]]) -> HeaderMap:
    """aiohttp's raw header pairs as a HeaderMap (latin-1, as HTTP/1.1 sends them)."""
    return HeaderMap((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
