"""The :class:`~gateway.runtime.Platform` of a JS ``env``, and the gateway built once per env.

The platform and the gateway are built once per JS ``env`` object (workerd keeps one per
isolate) and kept, so settings, registry and health cache survive across requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import js
from pyodide.ffi import JsProxy

from ..runtime import Handler, Platform, SystemClock
from .bodies import capture, discard, read
from .defer import defer
from .fetch import upstream_fetch
from .kv import JsKV
from .metrics import AnalyticsEngineMetrics
from .natives import absent, log, natives
from .rate_limit import JsRateLimiter

__all__ = [
    "ANALYTICS_BINDING",
    "KV_BINDING",
    "RATE_LIMIT_BINDING",
    "BuildGateway",
    "build_platform",
    "handler_for",
    "raw_env",
]

KV_BINDING = "BACKEND_CONFIG_KV"
RATE_LIMIT_BINDING = "RATE_LIMITER"
ANALYTICS_BINDING = "GATEWAY_ANALYTICS"

#: Builds the handler for one environment (``gateway.app.build_gateway``).
BuildGateway = Callable[[Mapping[str, str], Platform], Any]


def raw_env(env: Any) -> Any:
    """The raw JS ``env`` object behind what the runtime handed over."""
    # The SDK wraps ``self.env`` in ``_EnvWrapper`` (raw object on ``_env``);
    # we read the raw JS object so vars can be enumerated.
    return env if isinstance(env, JsProxy) else getattr(env, "_env", env)


def build_platform(env: Any) -> tuple[Platform, dict[str, str]]:
    """The Platform and the string variables (vars and secrets) of a JS ``env``."""
    raw = raw_env(env)
    variables: dict[str, str] = {}
    bindings: dict[str, Any] = {}
    for entry in js.Object.entries(raw):
        name, value = entry[0], entry[1]
        if isinstance(value, str):
            variables[name] = value
        elif name in (KV_BINDING, RATE_LIMIT_BINDING, ANALYTICS_BINDING) and not absent(value):
            bindings[name] = value
    platform = Platform(
        fetch=upstream_fetch,
        clock=SystemClock(),
        log=log,
        defer=defer,
        discard=discard,
        capture=capture,
        read=read,
        kv=JsKV(bindings[KV_BINDING]) if KV_BINDING in bindings else None,
        rate_limiter=JsRateLimiter(bindings[RATE_LIMIT_BINDING]) if RATE_LIMIT_BINDING in bindings else None,
        metrics=AnalyticsEngineMetrics(bindings[ANALYTICS_BINDING]) if ANALYTICS_BINDING in bindings else None,
        # workerd wakes a waiting request only from its own context (HealthMonitor._join).
        shared_waits=False,
    )
    return platform, variables


#: (JS env, its gateway's handler) for each env object seen, newest first.
_built: list[tuple[Any, Handler]] = []


def handler_for(build: BuildGateway, env: Any) -> Handler:
    """The gateway's handler for ``env``: built at its first request, then kept (four envs at most)."""
    raw = raw_env(env)
    for known, handler in _built:
        if natives().object_is(known, raw):
            return handler
    platform, variables = build_platform(raw)
    handle: Handler = build(variables, platform).handle
    _built.insert(0, (raw, handle))
    del _built[4:]
    return handle
