"""The gateway's one pipeline: ``on_fetch(request, env, ctx)``.

Both runtimes call :func:`on_fetch` with the core's request view
(``runtime.Request``), the environment as a mapping of strings, and the
runtime's :class:`~gateway.runtime.Platform`. One :class:`Gateway` is built
per (environment, platform) and reused, so settings are parsed once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import (
    GatewayError,
    InvalidBackend,
    InvalidLocation,
    LocationUnavailable,
    HeadersTooLarge,
    MethodNotAllowed,
    Misconfigured,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UnknownBackend,
)
from .headers import request_id as make_request_id
from .health import HealthMonitor
from .middleware.auth import ApiKeyAuth
from .middleware.cors import Cors
from .middleware.logging import RequestLog, log_event
from .registry import create_registry
from .registry.types import BACKEND_ID, LOCATIONS, Backend, Location
from .routing.proxy import forward, forwarding_headers
from .runtime import Headers, Platform, Request, Response
from .settings import Settings, SettingsError

GATEWAY_PREFIX = "/_gateway/"
JSON = "application/json"


class Gateway:
    """Settings, registry, health cache and middleware for one environment."""

    def __init__(self, settings: Settings, platform: Platform) -> None:
        self.settings = settings
        self.platform = platform
        self.registry = create_registry(settings, platform)
        self.health = HealthMonitor(settings, platform)
        self.cors = Cors(settings)
        self.auth = ApiKeyAuth(settings.api_key) if settings.api_key else None

    async def handle(self, request: Request) -> Response:
        """Answer one request; every failure becomes a JSON error answer."""
        clock = self.platform.clock
        started = clock.monotonic()
        rid = make_request_id(request.headers.get("x-request-id"))
        path = urlsplit(request.url).path or "/"
        log = RequestLog.start(clock.wall(), rid, request.method, path)
        try:
            response = await self._dispatch(request, path, rid, log)
        except GatewayError as exc:
            response = self._error(exc, rid)
            log.outcome = f"error:{exc.code}"
        except Exception as exc:  # a bug: answer 500 without details, keep the type in the log
            response = self._error(GatewayError(), rid)
            log.outcome = f"error:internal:{type(exc).__name__}"
        response.headers.set("x-request-id", rid)
        if log.outcome != "preflight":
            self.cors.apply(request.headers.get("origin"), response.headers)
        log.status = response.status
        log.duration_ms = round((clock.monotonic() - started) * 1000, 3)
        self.platform.log(log.line())
        return response

    async def _dispatch(self, request: Request, path: str, rid: str, log: RequestLog) -> Response:
        if Cors.is_preflight(request.method, request.headers):
            log.outcome = "preflight"
            return Response(204, self.platform.new_headers(self.cors.preflight_headers(request.headers)))
        if path == GATEWAY_PREFIX + "health":
            log.outcome = "gateway"
            return self._gateway_health(request.method)
        headers = request.headers.copy()
        self._check_limits(request, headers)
        if self.auth is not None:
            self.auth.authenticate(headers)
        await self._check_rate(request)
        if path.startswith(GATEWAY_PREFIX):
            log.outcome = "gateway"
            return await self._gateway_endpoint(request.method, path)

        backend_id = request.headers.get("x-backend")
        backend_id = self.settings.default_backend if backend_id is None else backend_id.strip()
        if not BACKEND_ID.fullmatch(backend_id):
            raise InvalidBackend()
        location = self._location(request.headers.get("x-backend-location"))
        log.backend, log.location = backend_id, location
        backend = await self._resolve(backend_id, location)
        await self.health.gate(backend)

        forwarding_headers(headers, request, request_id=rid, version=self.settings.version)
        upstream_started = self.platform.clock.monotonic()
        try:
            response = await forward(
                request,
                headers,
                backend,
                platform=self.platform,
                timeout_s=self.settings.upstream_timeout_s,
                on_connect_error=self.health.mark_unhealthy,
            )
        finally:
            log.upstream_ms = round((self.platform.clock.monotonic() - upstream_started) * 1000, 3)
        return response

    def _check_limits(self, request: Request, headers: Headers) -> None:
        size = sum(len(k) + len(v) + 4 for k, v in headers.items())
        if size > self.settings.max_header_bytes:
            raise HeadersTooLarge()
        limit = self.settings.max_body_bytes
        if limit:
            length = headers.get("content-length")
            if length is not None and length.strip().isdigit() and int(length) > limit:
                raise PayloadTooLarge()

    async def _check_rate(self, request: Request) -> None:
        limiter = self.platform.rate_limiter
        if limiter is not None and not await limiter.allow(request.client_ip or "unknown"):
            raise RateLimited(self.settings.rate_limit_period_s)

    def _location(self, requested: str | None) -> Location:
        if requested is None:
            return self.settings.environment
        location = requested.strip().lower()
        if location not in LOCATIONS:
            raise InvalidLocation()
        return location  # type: ignore[return-value]

    async def _resolve(self, backend_id: str, location: Location) -> Backend:
        if self.settings.environment == "cloud" and location == "local":
            # Fail closed: a gateway on Cloudflare has no business calling local hosts.
            raise LocationUnavailable("A cloud gateway cannot route to local backends")
        backend = await self.registry.get(backend_id, location)
        if backend is not None:
            return backend
        if await self.registry.locations(backend_id):
            raise LocationUnavailable(f"Backend {backend_id} has no {location} entry")
        raise UnknownBackend(backend_id)

    def _gateway_health(self, method: str) -> Response:
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed("GET, HEAD")
        return self._json(
            200,
            {"status": "ok", "version": self.settings.version, "environment": self.settings.environment},
        )

    async def _gateway_endpoint(self, method: str, path: str) -> Response:
        if path != GATEWAY_PREFIX + "backends":
            raise NotFound()
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed("GET, HEAD")
        entries: dict[str, dict] = {}
        for backend in await self.registry.list():
            entry = entries.setdefault(
                backend.id,
                {"id": backend.id, "name": backend.name, "locations": {}},
            )
            last = self.health.last(backend)
            entry["locations"][backend.type] = {
                "type": backend.type,
                "region": backend.region,
                "health": {
                    "status": last.status if last else "unknown",
                    "checked_at": last.checked_at if last else None,
                    "latency_ms": last.latency_ms if last else None,
                },
            }
        return self._json(200, {"environment": self.settings.environment, "backends": list(entries.values())})

    def _json(self, status: int, payload: object) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return Response(status, self.platform.new_headers([("content-type", JSON)]), body)

    def _error(self, exc: GatewayError, rid: str) -> Response:
        headers = self.platform.new_headers([("content-type", JSON), *exc.extra_headers])
        return Response(exc.status, headers, exc.body(rid))


class _Misconfigured:
    """Stands in for a Gateway whose settings did not parse (Worker side)."""

    def __init__(self, error: SettingsError, platform: Platform) -> None:
        self.error = Misconfigured(f"Gateway misconfigured: {error}")
        self.platform = platform
        log_event(platform.log, platform.clock.wall(), "misconfigured", variable=error.variable, problem=str(error))

    async def handle(self, request: Request) -> Response:
        rid = make_request_id(request.headers.get("x-request-id"))
        headers = self.platform.new_headers([("content-type", JSON), ("x-request-id", rid)])
        return Response(self.error.status, headers, self.error.body(rid))


def build_gateway(env: Mapping[str, str], platform: Platform) -> Gateway:
    """Parse settings and build the gateway; raises SettingsError (the twin's start-up check)."""
    return Gateway(Settings.from_env(env), platform)


_built: tuple[Mapping[str, str], Platform, Gateway | _Misconfigured] | None = None


def gateway_for(env: Mapping[str, str], platform: Platform) -> Gateway | _Misconfigured:
    """The gateway for this (env, platform), built on first use and kept."""
    global _built
    if _built is None or _built[0] is not env or _built[1] is not platform:
        try:
            gateway: Gateway | _Misconfigured = build_gateway(env, platform)
        except SettingsError as exc:
            gateway = _Misconfigured(exc, platform)
        _built = (env, platform, gateway)
    return _built[2]


async def on_fetch(request: Request, env: Mapping[str, str], ctx: Platform) -> Response:
    """The one handler both runtimes call."""
    return await gateway_for(env, ctx).handle(request)
