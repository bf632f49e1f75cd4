"""The gateway's settings, parsed once from the environment into a frozen object.

A wrong value raises :class:`SettingsError` naming the variable. The twin
refuses to start on it; the Worker answers ``500 misconfigured`` with the
same message. Nothing falls back silently to a default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from . import __version__
from .backends import BACKEND_ID, LOCATIONS, Backend, Location, UrlError, normalise_url
from .headers import UNDERSCORE_ACTIONS


class SettingsError(ValueError):
    """A setting is missing or malformed; ``variable`` names it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable} {problem}")


_BACKEND_VAR = re.compile(r"BACKEND_([A-Z0-9][A-Z0-9_]*?)_(CLOUD_URL|URL|NAME|HEALTH_PATH)")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the gateway; see README's settings table for the meaning."""

    environment: Location
    default_backend: str = "bun-sqlite"
    upstream_timeout_s: float = 30.0
    health_ttl_s: float = 30.0
    health_timeout_s: float = 2.0
    health_retry_s: float = 5.0
    #: 5xx answers in a row to real traffic that mark a backend unhealthy (Envoy's consecutive_5xx); 0 = off.
    outlier_consecutive_5xx: int = 5
    registry_ttl_s: float = 60.0
    registry_stale_s: float = 300.0
    cors_allow_origins: frozenset[str] = frozenset()
    cors_allow_any: bool = False
    api_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 0
    max_header_bytes: int = 32768
    rate_limit_requests: int = 0
    rate_limit_period_s: int = 60
    version: str = __version__
    local_backends: tuple[Backend, ...] = ()
    #: Shadow traffic (``gateway.shadow``): the backend every request is copied to, if any.
    shadow_backend: str | None = None
    shadow_sample_rate: float = 1.0
    shadow_writes: bool = False
    shadow_max_concurrent: int = 16
    shadow_max_body_bytes: int = 256 * 1024
    shadow_timeout_s: float = 10.0
    shadow_ignore_fields: frozenset[str] = frozenset({"id", "created_at", "updated_at"})
    #: Request fields whose name has an underscore: drop, reject or allow (``headers.UNDERSCORE_ACTIONS``).
    underscore_headers: str = "drop"
    #: Every string variable, for secrets a cloud backend document names.
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse ``env`` (variable name → string value); raise SettingsError."""
        environment = env.get("ENVIRONMENT", "").strip().lower()
        if environment not in LOCATIONS:
            raise SettingsError("ENVIRONMENT", "must be 'local' or 'cloud'")
        default_backend = env.get("DEFAULT_BACKEND", "bun-sqlite").strip()
        if not BACKEND_ID.fullmatch(default_backend):
            raise SettingsError("DEFAULT_BACKEND", f"must match {BACKEND_ID.pattern}")
        cors_any, cors_origins = parse_cors_origins(env)
        rate_limit = read_int(env, "RATE_LIMIT_REQUESTS", 0, minimum=0)
        shadow_backend = env.get("SHADOW_BACKEND", "").strip() or None
        if shadow_backend is not None and not BACKEND_ID.fullmatch(shadow_backend):
            raise SettingsError("SHADOW_BACKEND", f"must match {BACKEND_ID.pattern}")
        return cls(
            environment=environment,
            default_backend=default_backend,
            upstream_timeout_s=read_int(env, "UPSTREAM_TIMEOUT_MS", 30000, minimum=1) / 1000,
            health_ttl_s=read_int(env, "HEALTH_TTL_S", 30, minimum=1),
            health_timeout_s=read_int(env, "HEALTH_TIMEOUT_MS", 2000, minimum=1) / 1000,
            health_retry_s=read_int(env, "HEALTH_RETRY_S", 5, minimum=1),
            outlier_consecutive_5xx=read_int(env, "OUTLIER_CONSECUTIVE_5XX", 5, minimum=0),
            registry_ttl_s=read_int(env, "REGISTRY_TTL_S", 60, minimum=0),
            registry_stale_s=read_int(env, "REGISTRY_STALE_S", 300, minimum=0),
            cors_allow_origins=cors_origins,
            cors_allow_any=cors_any,
            api_key=env.get("API_KEY") or None,
            max_body_bytes=read_int(env, "MAX_BODY_BYTES", 0, minimum=0),
            max_header_bytes=read_int(env, "MAX_HEADER_BYTES", 32768, minimum=1024),
            rate_limit_requests=rate_limit,
            rate_limit_period_s=read_int(env, "RATE_LIMIT_PERIOD_S", 60, minimum=1),
            local_backends=_local_backends(env),
            shadow_backend=shadow_backend,
            shadow_sample_rate=read_fraction(env, "SHADOW_SAMPLE_RATE", 1.0),
            shadow_writes=read_bool(env, "SHADOW_WRITES", False),
            shadow_max_concurrent=read_int(env, "SHADOW_MAX_CONCURRENT", 16, minimum=1),
            shadow_max_body_bytes=read_int(env, "SHADOW_MAX_BODY_BYTES", 256 * 1024, minimum=0),
            shadow_timeout_s=read_int(env, "SHADOW_TIMEOUT_MS", 10000, minimum=1) / 1000,
            shadow_ignore_fields=_field_names(env, "SHADOW_IGNORE_FIELDS", "id,created_at,updated_at"),
            underscore_headers=read_choice(env, "UNDERSCORE_HEADERS", UNDERSCORE_ACTIONS, "drop"),
            secrets=MappingProxyType(dict(env)),
        )

    @property
    def cors_enabled(self) -> bool:
        return self.cors_allow_any or bool(self.cors_allow_origins)


def parse_cors_origins(env: Mapping[str, str]) -> tuple[bool, frozenset[str]]:
    """``CORS_ALLOW_ORIGINS`` as (any origin allowed, listed origins)."""
    origins = [o.strip() for o in env.get("CORS_ALLOW_ORIGINS", "").split(",") if o.strip()]
    for origin in origins:
        if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
            raise SettingsError("CORS_ALLOW_ORIGINS", f"has an invalid origin {origin!r} (want scheme://host[:port])")
    return "*" in origins, frozenset(o for o in origins if o != "*")


def read_int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    """The integer variable ``name`` (``default`` when unset or blank); SettingsError otherwise."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(name, f"must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(name, f"must be at least {minimum}, got {value}")
    return value


def read_fraction(env: Mapping[str, str], name: str, default: float) -> float:
    """A number from 0 to 1 (``default`` when unset or blank); SettingsError otherwise."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(name, f"must be a number from 0 to 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:  # also rejects nan
        raise SettingsError(name, f"must be a number from 0 to 1, got {raw!r}")
    return value


def read_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``true`` or ``false`` in any case (``default`` when unset or blank); SettingsError otherwise."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise SettingsError(name, f"must be 'true' or 'false', got {raw!r}")
    return value == "true"


def read_choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices``, in any case (``default`` when unset or blank); SettingsError otherwise."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise SettingsError(name, f"must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _field_names(env: Mapping[str, str], name: str, default: str) -> frozenset[str]:
    """A comma-separated list of names; set but blank means none (no error: any string is a JSON key)."""
    raw = env.get(name, default)
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _local_backends(env: Mapping[str, str]) -> tuple[Backend, ...]:
    """Collect ``BACKEND_<ID>_{URL,CLOUD_URL,NAME,HEALTH_PATH}`` into entries.

    ``<ID>`` maps to the id by lower-casing and turning ``_`` into ``-``
    (``BACKEND_BUN_SQLITE_URL`` → ``bun-sqlite``). ``_CLOUD_URL`` is read as
    the suffix, so an id cannot end in ``-cloud``.
    """
    fields: dict[str, dict[str, tuple[str, str]]] = {}
    for name, value in env.items():
        match = _BACKEND_VAR.fullmatch(name)
        if match and isinstance(value, str):
            fields.setdefault(match[1], {})[match[2]] = (name, value)
    backends: list[Backend] = []
    for raw_id, found in sorted(fields.items()):
        backend_id = raw_id.lower().replace("_", "-")
        first_var = next(iter(found.values()))[0]
        if not BACKEND_ID.fullmatch(backend_id):
            raise SettingsError(first_var, f"gives backend id {backend_id!r}, which must match {BACKEND_ID.pattern}")
        if "URL" not in found and "CLOUD_URL" not in found:
            raise SettingsError(first_var, f"is set but BACKEND_{raw_id}_URL is not")
        name = found.get("NAME", ("", backend_id))[1].strip() or backend_id
        health_var, health_path = found.get("HEALTH_PATH", ("", "/health"))
        if not health_path.startswith("/") or any(c in health_path for c in "?# \t"):
            raise SettingsError(health_var, "must be a path starting with '/'")
        for suffix, location in (("URL", "local"), ("CLOUD_URL", "cloud")):
            if suffix not in found:
                continue
            var, raw_url = found[suffix]
            try:
                url = normalise_url(raw_url, location)  # type: ignore[arg-type]
            except UrlError as exc:
                raise SettingsError(var, str(exc)) from None
            backends.append(
                Backend(id=backend_id, name=name, url=url, type=location, health_path=health_path)  # type: ignore[arg-type]
            )
    return tuple(backends)
