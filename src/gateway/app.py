"""The gateway's one pipeline: ``on_fetch(request, env, ctx)``.

Both runtimes call :func:`on_fetch` with the core's request view
(``runtime.Request``), the environment as a mapping of strings, and the
runtime's :class:`~gateway.runtime.Platform`. One :class:`Gateway` is built
per (environment, platform) and reused, so settings are parsed once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from .errors import (
    GatewayError,
    InvalidBackend,
    InvalidLocation,
    LocationUnavailable,
    HeadersTooLarge,
    InvalidRequest,
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
from .settings import Settings, SettingsError, parse_cors_origins
from .urls import split_url

GATEWAY_PREFIX = "/_gateway/"
JSON = "application/json"


class Gateway:
    """Settings, registry, health cache and middleware for one environment."""

    def __init__(self, settings: Settings, platform: Platform) -> None:
        self.settings = settings
        self.platform = platform
        self.registry = create_registry(settings, platform)
        self.health = HealthMonitor(settings, platform)
        self.cors = Cors.from_settings(settings)
        self.auth = ApiKeyAuth(settings.api_key) if settings.api_key else None

    async def handle(self, request: Request) -> Response:
        """Answer one request; every failure becomes a JSON error answer."""
        clock = self.platform.clock
        started = clock.monotonic()
        rid = make_request_id(request.headers.get("x-request-id"))
        path = split_url(request.url).path
        log = RequestLog.start(clock.wall(), rid, request.method, path)
        try:
            response = await self._dispatch(request, path, rid, log)
        except GatewayError as exc:
            response = self._error(exc, rid)
            log.outcome = f"error:{exc.code}"
        except Exception as exc:  # a bug: answer 500 without details, keep the type in the log
            response = self._error(GatewayError(), rid)
            log.outcome = f"error:internal:{type(exc).__name__}"
        return finish(response, request, rid, log, self.cors, self.platform, started)

    async def _dispatch(self, request: Request, path: str, rid: str, log: RequestLog) -> Response:
        if Cors.is_preflight(request.method, request.headers):
            log.outcome = "preflight"
            return Response(204, self.platform.new_headers(self.cors.preflight_headers(request.headers)))
        # Gateway endpoints are matched on the decoded path, so /_gateway/%68ealth
        # cannot slip past them to a backend.
        endpoint = gateway_endpoint(path)
        if endpoint == "health":
            log.outcome = "gateway"
            return self._gateway_health(request.method)
        headers = request.headers.copy()
        self._check_limits(headers)
        # Rate limits come before auth so key guessing is limited too.
        await self._check_rate(request)
        if self.auth is not None:
            self.auth.authenticate(headers)
        if endpoint is not None:
            log.outcome = "gateway"
            return await self._gateway_endpoint(request.method, endpoint)

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

    def _check_limits(self, headers: Headers) -> None:
        size = sum(len(k) + len(v) + 4 for k, v in headers.items())
        if size > self.settings.max_header_bytes:
            raise HeadersTooLarge()
        raw_length = headers.get("content-length")
        if raw_length is None:
            return
        # Repeated fields arrive joined ("10, 10"): equal values are one
        # length (RFC 9110 §8.6); anything else is a malformed request.
        lengths = {value.strip() for value in raw_length.split(",")}
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise InvalidRequest("Invalid Content-Length")
        limit = self.settings.max_body_bytes
        if limit and int(lengths.pop()) > limit:
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

    async def _gateway_endpoint(self, method: str, endpoint: str) -> Response:
        if endpoint != "backends":
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
        headers = self.platform.new_headers([("content-type", JSON), ("content-length", str(len(body)))])
        return Response(status, headers, body)

    def _error(self, exc: GatewayError, rid: str) -> Response:
        headers = self.platform.new_headers([("content-type", JSON), *exc.extra_headers])
        return Response(exc.status, headers, exc.body(rid))


def gateway_endpoint(path: str) -> str | None:
    """``"health"`` for ``/_gateway/health`` etc.; None when not a gateway path."""
    if not path.startswith("/_"):
        return None  # the common case, decided without decoding
    from urllib.parse import unquote  # rare path: keep it off the cold start

    decoded = unquote(path)
    if decoded == GATEWAY_PREFIX.rstrip("/"):
        return ""
    if decoded.startswith(GATEWAY_PREFIX):
        return decoded[len(GATEWAY_PREFIX):]
    return None


def finish(
    response: Response, request: Request, rid: str, log: RequestLog, cors: Cors | None, platform: Platform, started: float
) -> Response:
    """The last step of every answer: request id, CORS, HEAD, the log line."""
    response.headers.set("x-request-id", rid)
    if cors is not None and log.outcome != "preflight":
        cors.apply(request.headers.get("origin"), response.headers)
    if request.method == "HEAD" and isinstance(response.body, bytes):
        response.body = None  # our own answers: same headers as GET, no body
    log.status = response.status
    log.duration_ms = round((platform.clock.monotonic() - started) * 1000, 3)
    platform.log(log.line())
    return response


class _Misconfigured:
    """Stands in for a Gateway whose settings did not parse (Worker side).

    Every request gets ``500 misconfigured`` naming the variable, still with
    a request id, a log line and (unless CORS itself is the bad setting)
    CORS headers, so a browser can read why.
    """

    def __init__(self, error: SettingsError, env: Mapping[str, str], platform: Platform) -> None:
        self.error = Misconfigured(f"Gateway misconfigured: {error}")
        self.platform = platform
        try:
            self.cors: Cors | None = Cors(*parse_cors_origins(env))
        except SettingsError:
            self.cors = None
        log_event(platform.log, platform.clock.wall(), "misconfigured", variable=error.variable, problem=str(error))

    async def handle(self, request: Request) -> Response:
        clock = self.platform.clock
        started = clock.monotonic()
        rid = make_request_id(request.headers.get("x-request-id"))
        log = RequestLog.start(clock.wall(), rid, request.method, split_url(request.url).path)
        log.outcome = f"error:{self.error.code}"
        headers = self.platform.new_headers([("content-type", JSON)])
        response = Response(self.error.status, headers, self.error.body(rid))
        return finish(response, request, rid, log, self.cors, self.platform, started)


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
            gateway = _Misconfigured(exc, env, platform)
        _built = (env, platform, gateway)
    return _built[2]


async def on_fetch(request: Request, env: Mapping[str, str], ctx: Platform) -> Response:
    """The one handler both runtimes call."""
    return await gateway_for(env, ctx).handle(request)
