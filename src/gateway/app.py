"""The gateway's one pipeline: :meth:`Gateway.handle`.

Both runtimes serve ``Gateway.handle`` with the core's request view
(``runtime.Request``). A gateway is assembled once per environment, here
and nowhere else: ``Gateway(settings, platform)`` for the twin, which parses
its settings itself (a bad one stops it at start-up), and
:func:`build_gateway` for the Worker (a bad setting becomes a gateway that
answers ``500 misconfigured`` naming the variable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .auth import ApiKeyAuth
from .backends import BACKEND_ID, LOCATIONS, Backend, Location
from .cors import Cors
from .errors import (
    GatewayError,
    HeadersTooLarge,
    InvalidBackend,
    InvalidLocation,
    InvalidRequest,
    LocationUnavailable,
    MethodNotAllowed,
    Misconfigured,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UnknownBackend,
)
from .headers import HeaderMap, underscored_names
from .headers import request_id as make_request_id
from .health import HealthMonitor
from .logs import RequestLog, log_event
from .proxy import forward, forwarding_headers
from .registry import BackendRegistry
from .registry.cloud import CloudRegistry
from .registry.local import LocalRegistry
from .runtime import Headers, Platform, Request, Response
from .settings import Settings, SettingsError, parse_cors_origins
from .shadow import ShadowTraffic
from .urls import Target, split_url

GATEWAY_PREFIX = "/_gateway/"
JSON = "application/json"


class Gateway:
    """Settings, registry, health cache, CORS and auth for one environment.

    Raises SettingsError when the platform lacks what the settings need
    (cloud mode without a KV namespace).
    """

    def __init__(self, settings: Settings, platform: Platform) -> None:
        self.settings = settings
        self.platform = platform
        self.cors = Cors.from_settings(settings)
        self.auth = ApiKeyAuth(settings.api_key) if settings.api_key else None
        self.health = HealthMonitor(settings, platform)
        self.registry = create_registry(settings, platform)
        self.shadow = ShadowTraffic(settings, platform, self._healthy_backend, self.health.mark_unhealthy)

    async def handle(self, request: Request) -> Response:
        """Answer one request; every failure becomes a JSON error answer."""
        clock = self.platform.clock
        started = clock.monotonic()
        rid = make_request_id(request.headers.get("x-request-id"))
        parts = split_url(request.url)
        log = RequestLog.start(clock.wall(), rid, request.method, parts.path)
        metrics = self.platform.metrics
        if metrics is not None:
            metrics.started()
        try:
            response = await self._dispatch(request, parts, rid, log)
        except GatewayError as exc:
            response = self._error(exc, rid)
            log.outcome = f"error:{exc.code}"
        except Exception as exc:  # noqa: BLE001 — a bug: answer 500 without details, keep the type in the log
            response = self._error(GatewayError(), rid)
            log.outcome = f"error:internal:{type(exc).__name__}"
        return self._finish(response, request, rid, log, started)

    async def _dispatch(self, request: Request, parts: Target, rid: str, log: RequestLog) -> Response:
        if Cors.is_preflight(request.method, request.headers):
            log.outcome = "preflight"
            return Response(204, HeaderMap(self.cors.preflight_headers(request.headers)))
        # Gateway endpoints are matched on the decoded path, so /_gateway/%68ealth
        # cannot slip past them to a backend.
        endpoint = gateway_endpoint(parts.path)
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
        backend = await self._healthy_backend(backend_id, location, log)
        # Whether a copy goes to a second backend after the answer (gateway.shadow).
        shadow = self.shadow.plan(request, headers, backend, rid, parts)

        forwarding_headers(headers, parts, request.client_ip, request_id=rid, version=self.settings.version)
        if shadow is not None:
            request = self.shadow.copy_request(shadow, request, headers)
        upstream_started = self.platform.clock.monotonic()
        try:
            response = await forward(
                request,
                parts,
                headers,
                backend,
                platform=self.platform,
                timeout_s=self.settings.upstream_timeout_s,
                on_connect_error=self.health.mark_unhealthy,
                on_answer=self.health.observe,
            )
        except BaseException:
            if shadow is not None:
                self.shadow.abandon(shadow)
            raise
        finally:
            log.upstream_ms = round((self.platform.clock.monotonic() - upstream_started) * 1000, 3)
        if shadow is not None:
            response.body = self.shadow.launch(shadow, response)
        # Which entry served this answer, so a client can show it (and an
        # upstream cannot claim another backend's name).
        response.headers.set("x-backend", backend.id)
        response.headers.set("x-backend-location", backend.type)
        return response

    def _check_limits(self, headers: Headers) -> None:
        size = sum(len(k) + len(v) + 4 for k, v in headers.items())
        if size > self.settings.max_header_bytes:
            raise HeadersTooLarge()
        if self.settings.underscore_headers != "allow" and (underscored := underscored_names(headers)):
            # A look-alike of a field checked here by its real name (Content_Length,
            # Transfer_Encoding) would be read as that field by a backend folding "_" into "-".
            if self.settings.underscore_headers == "reject":
                raise InvalidRequest("Header field names must not contain '_'")
            for name in underscored:
                headers.delete(name)
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
        return location

    async def _healthy_backend(self, backend_id: str, location: Location, log: RequestLog | None = None) -> Backend:
        """The entry for (id, location), gated on its health; a GatewayError when there is none."""
        backend = await self._resolve(backend_id, location)
        if log is not None:
            log.routed = True  # a registered entry: safe as a metrics label
        await self.health.gate(backend)
        return backend

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
        if endpoint not in ("backends", "shadow", "metrics") or (
            endpoint == "metrics" and (self.platform.metrics is None or not self.platform.metrics.exposes)
        ):
            raise NotFound()
        if method not in ("GET", "HEAD"):
            raise MethodNotAllowed("GET, HEAD")
        if endpoint == "shadow":
            return self._json(200, self.shadow.report())
        if endpoint == "metrics":
            return await self._metrics()
        entries: dict[str, dict[str, Any]] = {}
        backends = await self.registry.list()
        # Checked here when stale or never checked (HealthMonitor.current): the listing tells the truth.
        for backend, last in zip(backends, await self.health.current_all(backends), strict=True):
            entry = entries.setdefault(
                backend.id,
                {"id": backend.id, "name": backend.name, "locations": {}},
            )
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

    async def _metrics(self) -> Response:
        assert self.platform.metrics is not None
        backends = await self.registry.list()
        health = [
            (backend.id, backend.type, None if last is None else last.healthy)
            for backend, last in zip(backends, await self.health.shown_all(backends), strict=True)
        ]
        content_type, body = self.platform.metrics.exposition(health)
        headers = HeaderMap([("content-type", content_type), ("content-length", str(len(body)))])
        return Response(200, headers, body)

    def _json(self, status: int, payload: object) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = HeaderMap([("content-type", JSON), ("content-length", str(len(body)))])
        return Response(status, headers, body)

    def _error(self, exc: GatewayError, rid: str) -> Response:
        headers = HeaderMap([("content-type", JSON), *exc.extra_headers])
        return Response(exc.status, headers, exc.body(rid))

    def _finish(self, response: Response, request: Request, rid: str, log: RequestLog, started: float) -> Response:
        """The last step of every answer: request id, CORS, HEAD, the log line."""
        response.headers.set("x-request-id", rid)
        if log.outcome != "preflight":
            self.cors.apply(request.headers.get("origin"), response.headers)
        if request.method == "HEAD" and isinstance(response.body, bytes):
            response.body = None  # our own answers: same headers as GET, no body
        log.status = response.status
        log.duration_ms = round((self.platform.clock.monotonic() - started) * 1000, 3)
        if self.platform.metrics is not None:
            self.platform.metrics.finished(log)
        if log.outcome == "proxied" and log.upstream_ms is not None:
            # W3C Server-Timing: browser devtools show the upstream/gateway split.
            gateway_ms = round(max(0.0, log.duration_ms - log.upstream_ms), 3)
            response.headers.append("server-timing", f"upstream;dur={log.upstream_ms}, gateway;dur={gateway_ms}")
        self.platform.log(log.line())
        return response


class MisconfiguredGateway(Gateway):
    """A gateway whose settings did not parse (Worker side).

    Every request gets ``500 misconfigured`` naming the variable, still with
    a request id, a log line and (unless CORS itself is the bad setting)
    CORS headers, so a browser can read why.
    """

    def __init__(self, error: SettingsError, env: Mapping[str, str], platform: Platform) -> None:
        # Deliberately not Gateway.__init__: there are no settings to build a registry from.
        self.platform = platform
        self.error = Misconfigured(f"Gateway misconfigured: {error}")
        try:
            self.cors = Cors(*parse_cors_origins(env))
        except SettingsError:  # CORS itself is the bad setting: answer without CORS headers
            self.cors = Cors(False, frozenset())
        log_event(platform.log, platform.clock.wall(), "misconfigured", variable=error.variable, problem=str(error))

    async def _dispatch(self, request: Request, parts: Target, rid: str, log: RequestLog) -> Response:
        raise self.error


def gateway_endpoint(path: str) -> str | None:
    """``"health"`` for ``/_gateway/health`` etc.; None when not a gateway path."""
    if not path.startswith("/_"):
        return None  # the common case, decided without decoding
    from urllib.parse import unquote  # rare path: keep it off the cold start

    decoded = unquote(path)
    if decoded == GATEWAY_PREFIX.rstrip("/"):
        return ""
    if decoded.startswith(GATEWAY_PREFIX):
        return decoded[len(GATEWAY_PREFIX) :]
    return None


def create_registry(settings: Settings, platform: Platform) -> BackendRegistry:
    """The registry ``ENVIRONMENT`` asks for: variables (local) or KV (cloud)."""
    if settings.environment == "local":
        return LocalRegistry(settings.local_backends)
    if platform.kv is None:
        raise SettingsError("BACKEND_CONFIG_KV", "binding is required when ENVIRONMENT=cloud")
    return CloudRegistry(
        platform.kv,
        clock=platform.clock,
        log=platform.log,
        secrets=settings.secrets,
        ttl_s=settings.registry_ttl_s,
        stale_s=settings.registry_stale_s,
    )


def build_gateway(env: Mapping[str, str], platform: Platform) -> Gateway:
    """The Worker's gateway for ``env``: parsed once; a bad setting answers 500 naming it."""
    try:
        return Gateway(Settings.from_env(env), platform)
    except SettingsError as exc:
        return MisconfiguredGateway(exc, env, platform)
