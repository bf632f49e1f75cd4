"""Cloudflare Python Worker entry point: the one top-level ``on_fetch``.

workerd calls ``on_fetch(request, env, ctx)`` with the raw JS ``Request``, ``env`` and
``ExecutionContext`` in one relaxed, promising call per request (python-entrypoint-helper.ts,
``makeHandler``). It hands them to the Workers runtime adapter, which builds the gateway once
per environment (:func:`gateway.app.build_gateway`), runs the core's one pipeline
(``Gateway.handle``) on this call's own stack where it can (``gateway.workers.serve_now``) and
returns a JS ``Response`` (or a future of one when the core had to wait for another task).

Why not ``class Default(WorkerEntrypoint)``: entering through it costs, on every request, a
new JS wrapper, a constructed Python instance, a WebLoop task and the SDK's RPC conversions of
the request and the answer (docs/benchmarks.md, "The Worker's entry"). A global handler needs
the compatibility flag ``disable_python_no_global_handlers`` (wrangler.toml) from compatibility
date 2025-08-14 on: without it workerd registers no ``on_fetch`` at all.
"""

from typing import Any

from gateway.app import build_gateway
from gateway.workers import serve_now


def on_fetch(request: Any, env: Any, ctx: Any) -> Any:
    """Answer one request: ``request``, ``env`` and ``ctx`` are the runtime's JS objects."""
    return serve_now(build_gateway, request, env, ctx)
