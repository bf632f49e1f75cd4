"""An in-memory Platform for unit tests: the transport seam, faked.

Nothing here patches a module: the gateway receives these objects the same
way it receives the CPython or Workers implementations (habit 1).

    h = Harness.local()                      # ENVIRONMENT=local, bun-sqlite backend
    h.upstream.proxy = respond(201, [("x-a", "1")], body)
    response = await h.send("POST", "/tasks?x=1", [("content-type", "application/json")], body)
    h.upstream.proxied[0].url                # what the backend received
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gateway.app import Gateway, build_gateway
from gateway.errors import UpstreamTimeoutError
from gateway.headers import HeaderMap
from gateway.runtime import Platform, Request, Response
from gateway.shadow import ShadowTraffic

BUN_URL = "http://bun.internal:3000"
D1_LOCAL_URL = "http://d1.internal:8788"
D1_CLOUD_URL = "https://d1.example.com"
HEALTH_UA = "gtd-gateway-health"
WALL_START = 1_700_000_000.0

#: An upstream answer's header fields: every hop-by-hop kind, ``x-private`` (hop-by-hop because
#: ``Connection`` names it) and ``x-public``, the one end-to-end field a client may see.
HOP_BY_HOP_ANSWER = (
    ("connection", "x-private"),
    ("x-private", "1"),
    ("keep-alive", "timeout=5"),
    ("transfer-encoding", "chunked"),
    ("proxy-authenticate", "Basic"),
    ("upgrade", "h2c"),
    ("x-public", "2"),
)


@dataclass
class Call:
    """One request the fake upstream received."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: Any

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name.lower()]
        return ", ".join(values) if values else None

    def names(self) -> set[str]:
        return {k for k, _ in self.headers}


Responder = Callable[[Call], Awaitable[Response]]


def respond(status: int = 200, headers: Iterable[tuple[str, str]] = (), body: Any = b"") -> Responder:
    """A responder that answers every call with a fresh Response."""

    async def responder(call: Call) -> Response:
        return Response(status, HeaderMap(list(headers)), body)

    return responder


def fail(exc_type: type[BaseException], message: str = "") -> Responder:
    async def responder(call: Call) -> Response:
        raise exc_type(message)

    return responder


class Upstream:
    """Every backend at once: records calls and answers from two responders.

    ``health`` answers GETs whose path is in ``health_paths``; ``proxy``
    answers everything else.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.health_paths = {"/health"}
        self.health: Responder = respond(200)
        self.proxy: Responder = respond(200, [("content-type", "text/plain")], b"ok")
        self.cancelled = 0
        #: The deadline the core gave each call, in call order.
        self.timeouts: list[float | None] = []

    async def fetch(self, method: str, url: str, headers: Any, body: Any, timeout_s: float | None = None) -> Response:
        call = Call(method, url, list(headers.items()), body)
        self.calls.append(call)
        self.timeouts.append(timeout_s)
        responder = self.health if self._is_health(call) else self.proxy
        try:
            # The deadline as runtime.UpstreamFetch asks a runtime to keep it.
            async with asyncio.timeout(timeout_s):
                return await responder(call)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        except TimeoutError:
            self.cancelled += 1
            raise UpstreamTimeoutError(f"no response head within {timeout_s} s") from None

    def _is_health(self, call: Call) -> bool:
        return call.method == "GET" and call.path in self.health_paths and call.header("user-agent") == HEALTH_UA

    @property
    def proxied(self) -> list[Call]:
        return [c for c in self.calls if not self._is_health(c)]

    @property
    def health_checks(self) -> list[Call]:
        return [c for c in self.calls if self._is_health(c)]

    def hang(self) -> Responder:
        """A responder that never answers (until cancelled)."""

        async def responder(call: Call) -> Response:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        return responder


def gated(event: asyncio.Event, status: int = 200) -> Responder:
    """Answers ``status`` once ``event`` is set (to hold a check in flight)."""

    async def responder(call: Call) -> Response:
        await event.wait()
        return Response(status, HeaderMap(), b"")

    return responder


class FakeClock:
    def __init__(self, wall: float = WALL_START, monotonic: float = 500.0) -> None:
        self._wall = wall
        self._mono = monotonic

    def wall(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._mono += seconds


class FakeKV:
    """Dict-backed KV; ``failing = True`` makes every call raise."""

    def __init__(self, data: dict[str, str] | None = None) -> None:
        self.data: dict[str, str] = dict(data or {})
        self.ttls: dict[str, int | None] = {}
        self.failing = False
        self.gets: list[str] = []
        self.lists: list[str] = []

    def _check(self) -> None:
        if self.failing:
            raise OSError("KV is down")

    async def get(self, key: str) -> str | None:
        self.gets.append(key)
        self._check()
        return self.data.get(key)

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        self._check()
        self.data[key] = value
        self.ttls[key] = expiration_ttl

    async def list(self, prefix: str) -> list[str]:
        self.lists.append(prefix)
        self._check()
        return sorted(k for k in self.data if k.startswith(prefix))

    async def delete(self, key: str) -> None:
        self._check()
        self.data.pop(key, None)


class Deferred:
    """``Platform.defer``: schedules each awaitable; ``drain`` awaits them all."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Future[Any]] = []

    def __call__(self, awaitable: Awaitable[Any]) -> None:
        self.tasks.append(asyncio.ensure_future(awaitable))

    async def drain(self) -> None:
        seen = 0
        while seen < len(self.tasks):
            pending = self.tasks[seen:]
            seen = len(self.tasks)
            await asyncio.gather(*pending, return_exceptions=True)


class Logs(list):
    """``Platform.log``: keeps every line."""

    def __call__(self, line: str) -> None:
        self.append(line)

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self]

    def requests(self) -> list[dict[str, Any]]:
        return [d for d in self.parsed() if "event" not in d]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [d for d in self.parsed() if d.get("event") == name]


class FakeLimiter:
    def __init__(self, allow: bool) -> None:
        self.allowed = allow
        self.keys: list[str] = []

    async def allow(self, key: str) -> bool:
        self.keys.append(key)
        return self.allowed


def capture(body: Any, limit: int) -> tuple[Any, Awaitable[bytes | None]]:
    """``Platform.capture`` for test bodies: bytes, None, or an async iterable of bytes."""
    copy: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
    if body is None or isinstance(body, bytes):
        data = body or b""
        copy.set_result(data if len(data) <= limit else None)
        return body, copy

    async def passing() -> AsyncIterator[bytes]:
        parts: list[bytes] = []
        try:
            async for chunk in body:
                parts.append(chunk)
                yield chunk
        finally:
            data = b"".join(parts)
            if not copy.done():
                copy.set_result(data if len(data) <= limit else None)

    return passing(), copy


async def read(body: Any, limit: int) -> bytes | None:
    """``Platform.read`` for test bodies."""
    if body is None:
        return b""
    data = body if isinstance(body, bytes) else b"".join([chunk async for chunk in body])
    return data if len(data) <= limit else None


LOCAL_ENV = {"ENVIRONMENT": "local", "BACKEND_BUN_SQLITE_URL": BUN_URL}


class Harness:
    """One gateway on a fake platform, and the fakes to script and inspect."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        kv: FakeKV | None = None,
        limiter: FakeLimiter | None = None,
        metrics: Any = None,
    ) -> None:
        self.env = dict(env)
        self._gateway: Gateway | None = None
        self.upstream = Upstream()
        self.clock = FakeClock()
        self.kv = kv
        self.logs = Logs()
        self.deferred = Deferred()
        self.discarded: list[Any] = []
        self.limiter = limiter

        async def discard(body: Any) -> None:
            self.discarded.append(body)

        self.platform = Platform(
            fetch=self.upstream.fetch,
            clock=self.clock,
            log=self.logs,
            defer=self.deferred,
            discard=discard,
            capture=capture,
            read=read,
            kv=kv,
            rate_limiter=limiter,
            metrics=metrics,
        )

    @classmethod
    def local(cls, extra: dict[str, str] | None = None, **kwargs: Any) -> Harness:
        return cls({**LOCAL_ENV, **(extra or {})}, **kwargs)

    @classmethod
    def cloud(cls, documents: dict[str, dict[str, Any]], extra: dict[str, str] | None = None, **kwargs: Any) -> Harness:
        kv = kwargs.pop("kv", None) or FakeKV()
        for backend_id, doc in documents.items():
            kv.data[f"backend:{backend_id}"] = json.dumps(doc)
        return cls({"ENVIRONMENT": "cloud", **(extra or {})}, kv=kv, **kwargs)

    def gateway_shadow(self) -> ShadowTraffic:
        """The gateway's shadow traffic (after the first request built the gateway)."""
        assert self._gateway is not None
        return self._gateway.shadow

    async def send(
        self,
        method: str = "GET",
        target: str = "/tasks",
        headers: Iterable[tuple[str, str]] = (),
        body: Any = None,
        *,
        client_ip: str | None = "203.0.113.7",
        base: str = "https://gw.example",
    ) -> Response:
        url = target if "://" in target else base + target
        request = Request(method, url, HeaderMap(list(headers)), body, client_ip)
        if self._gateway is None:  # built on first use, as the Worker does per environment
            self._gateway = build_gateway(self.env, self.platform)
        return await self._gateway.handle(request)


def error_of(response: Response) -> dict[str, Any]:
    """The ``error`` object of a gateway error answer (checks the shape)."""
    assert response.headers.get("content-type") == "application/json"
    doc = json.loads(response.body)
    assert set(doc) == {"error"}
    assert set(doc["error"]) == {"code", "message", "request_id"}
    return doc["error"]


def json_of(response: Response) -> Any:
    return json.loads(response.body)


def cloud_doc(backend_id: str = "cf-d1", **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": backend_id,
        "name": "Cloudflare D1",
        "url": D1_CLOUD_URL,
        "type": "cloud",
        "region": "eu-west",
        "healthEndpoint": "/health",
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}
