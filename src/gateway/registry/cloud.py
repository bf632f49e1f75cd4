"""Backends from the ``BACKEND_CONFIG_KV`` namespace.

Each backend is one key ``backend:<id>`` whose value is a JSON document in
the design record's shape::

    {"id": "cf-d1", "name": "Cloudflare D1", "url": "https://gtd-d1.example.com",
     "type": "cloud", "region": "eu-west", "healthEndpoint": "/health",
     "accessClientIdSecret": "D1_ACCESS_ID", "accessClientSecretSecret": "D1_ACCESS_SECRET"}

``accessClientIdSecret``/``accessClientSecretSecret`` name the gateway's
secrets holding a Cloudflare Access service token; ``bearerTokenSecret``
names one holding a bearer token. Unknown fields are ignored. A document
that does not validate is logged and treated as absent; one naming a secret
the gateway lacks makes that backend unavailable (503), never a crash.

Documents are kept per isolate for ``REGISTRY_TTL_S``; when KV fails, the
last good copy is served for up to ``REGISTRY_STALE_S``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..backends import BACKEND_ID, LOCATIONS, Backend, Location, UrlError, normalise_url
from ..errors import BackendUnavailable, RegistryUnavailable
from ..logs import log_event
from ..runtime import KV, Clock

KEY_PREFIX = "backend:"
#: Secrets of the gateway itself, which a document must not send upstream.
_RESERVED_SECRETS = frozenset({"API_KEY"})
#: Negative look-ups are cached too; this caps what random ids can cost.
_MAX_ABSENT = 4096


class DocumentError(ValueError):
    """A registry document that cannot be used (the message says why)."""


class MissingSecret(DocumentError):
    """A document names a secret the gateway does not have."""


@dataclass(frozen=True, slots=True)
class _Cached:
    backend: Backend | None
    problem: str | None
    fetched_at: float


def parse_document(backend_id: str, raw: str, secrets: Mapping[str, str]) -> Backend:
    """Validate one KV value and build its :class:`Backend`.

    Raises :class:`DocumentError` (or :class:`MissingSecret`) with a message
    naming the field at fault. The message never contains the URL.
    """
    try:
        doc = json.loads(raw)
    except ValueError:
        raise DocumentError("is not valid JSON") from None
    if not isinstance(doc, dict):
        raise DocumentError("is not a JSON object")
    if doc.get("id") != backend_id:
        raise DocumentError(f"field 'id' must equal the key's id {backend_id!r}")
    location = doc.get("type", "cloud")
    if location not in LOCATIONS:
        raise DocumentError("field 'type' must be 'local' or 'cloud'")
    url = doc.get("url")
    if not isinstance(url, str):
        raise DocumentError("field 'url' is required and must be a string")
    try:
        url = normalise_url(url, location)
    except UrlError as exc:
        raise DocumentError(f"field 'url' {exc}") from None
    name = doc.get("name", backend_id)
    region = doc.get("region")
    health = doc.get("healthEndpoint", "/health")
    if not isinstance(name, str) or not name.strip():
        raise DocumentError("field 'name' must be a non-empty string")
    if region is not None and not isinstance(region, str):
        raise DocumentError("field 'region' must be a string")
    if not isinstance(health, str) or not health.startswith("/"):
        raise DocumentError("field 'healthEndpoint' must be a path starting with '/'")
    return Backend(
        id=backend_id,
        name=name.strip(),
        url=url,
        type=location,
        health_path=health,
        region=region,
        upstream_headers=_credentials(doc, secrets),
    )


def _credentials(doc: dict[str, Any], secrets: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    def secret(field: str) -> str | None:
        name = doc.get(field)
        if name is None:
            return None
        if not isinstance(name, str) or not name:
            raise DocumentError(f"field {field!r} must name a secret")
        if name in _RESERVED_SECRETS:
            raise DocumentError(f"field {field!r} may not name the gateway's own {name}")
        value = secrets.get(name)
        if not value:
            raise MissingSecret(f"field {field!r} names secret {name!r}, which is not set")
        return value

    headers: list[tuple[str, str]] = []
    client_id = secret("accessClientIdSecret")
    client_secret = secret("accessClientSecretSecret")
    if (client_id is None) != (client_secret is None):
        raise DocumentError("needs both 'accessClientIdSecret' and 'accessClientSecretSecret'")
    if client_id is not None and client_secret is not None:
        headers += [("cf-access-client-id", client_id), ("cf-access-client-secret", client_secret)]
    token = secret("bearerTokenSecret")
    if token is not None:
        headers.append(("authorization", f"Bearer {token}"))
    return tuple(headers)


class CloudRegistry:
    """A read-through cache over KV with a last-known-good fallback."""

    def __init__(
        self,
        kv: KV,
        *,
        clock: Clock,
        log: Callable[[str], None],
        secrets: Mapping[str, str],
        ttl_s: float,
        stale_s: float,
    ) -> None:
        self._kv = kv
        self._clock = clock
        self._log = log
        self._secrets = secrets
        self._ttl_s = ttl_s
        self._stale_s = stale_s
        self._cache: dict[str, _Cached] = {}
        self._absent = 0

    async def get(self, backend_id: str, location: Location) -> Backend | None:
        cached = await self._load(backend_id)
        if cached.problem is not None:
            raise BackendUnavailable(backend_id)
        if cached.backend is None or cached.backend.type != location:
            return None
        return cached.backend

    async def locations(self, backend_id: str) -> tuple[Location, ...]:
        cached = await self._load(backend_id)
        return (cached.backend.type,) if cached.backend is not None else ()

    async def list(self) -> list[Backend]:
        try:
            keys = await self._kv.list(KEY_PREFIX)
        except Exception as exc:  # noqa: BLE001 — any KV failure: serve what this isolate knows
            self._event("registry_kv_error", operation="list", error=type(exc).__name__)
            if not self._cache:
                raise RegistryUnavailable() from None
            keys = [KEY_PREFIX + backend_id for backend_id in self._cache]
        ids = sorted({k[len(KEY_PREFIX) :] for k in keys if BACKEND_ID.fullmatch(k[len(KEY_PREFIX) :])})
        loaded = await asyncio.gather(*(self._load(i) for i in ids), return_exceptions=True)
        for result in loaded:
            if isinstance(result, RegistryUnavailable):
                raise result
        return [c.backend for c in loaded if isinstance(c, _Cached) and c.backend is not None]

    async def _load(self, backend_id: str) -> _Cached:
        now = self._clock.wall()
        cached = self._cache.get(backend_id)
        if cached is not None and now - cached.fetched_at < self._ttl_s:
            return cached
        try:
            raw = await self._kv.get(KEY_PREFIX + backend_id)
        except Exception as exc:  # noqa: BLE001 — a KV outage must not take routing down at once
            self._event("registry_kv_error", operation="get", backend=backend_id, error=type(exc).__name__)
            if cached is not None and now - cached.fetched_at < self._ttl_s + self._stale_s:
                return cached
            raise RegistryUnavailable() from None
        fresh = self._parse(backend_id, raw, now)
        if fresh.backend is None and fresh.problem is None:
            self._absent += 1
            if self._absent > _MAX_ABSENT:
                self._cache = {k: v for k, v in self._cache.items() if v.backend is not None}
                self._absent = 0
        self._cache[backend_id] = fresh
        return fresh

    def _parse(self, backend_id: str, raw: str | None, now: float) -> _Cached:
        if raw is None:
            return _Cached(None, None, now)
        try:
            return _Cached(parse_document(backend_id, raw, self._secrets), None, now)
        except MissingSecret as exc:
            self._event("registry_missing_secret", backend=backend_id, problem=str(exc))
            return _Cached(None, str(exc), now)
        except DocumentError as exc:
            self._event("registry_bad_document", backend=backend_id, problem=str(exc))
            return _Cached(None, None, now)

    def _event(self, event: str, **fields: Any) -> None:
        log_event(self._log, self._clock.wall(), event, **fields)
