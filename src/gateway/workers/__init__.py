"""The seam over Cloudflare's Python Workers runtime (Pyodide inside workerd).

The only package of ``gateway`` whose modules import ``js`` or ``pyodide``. It turns the
Worker's native objects into the core's views (``gateway.runtime``) and back, and builds
the :class:`~gateway.runtime.Platform` the core runs on. One module per concern, named like
the twin's (``local_runner``) where the job is the same:

* ``natives``: the JS globals the per-request path calls, each looked up once, and the
  small conversions across the boundary (init objects, options, bodies);
* ``headers``: header fields cross the boundary once each way, as one string;
* ``fetch``: ``Platform.fetch`` over the global JS ``fetch`` (``redirect: "manual"``, a JS
  timer as deadline); JS errors become the core's upstream failures here and nowhere else;
* ``bodies``: a body stays the JS ``ReadableStream`` itself; the client's body is piped so
  that its own failure is told apart from the upstream's; ``capture``/``read`` tee and read
  a branch for shadow traffic;
* ``kv``, ``rate_limit``, ``metrics``: the ``BACKEND_CONFIG_KV``, optional ``RATE_LIMITER``
  and optional ``GATEWAY_ANALYTICS`` bindings;
* ``defer``: work past the response, under ``ctx.waitUntil`` of the request that started it;
* ``platform``: the Platform of a JS ``env`` and the gateway built once per env object
  (workerd keeps one per isolate), so settings, registry and health cache survive requests;
* ``serve``: one request in (``request_view``), the core's answer out (``js_response``),
  driven on ``on_fetch``'s own stack (``serve_now``).

Each name above is its module (``gateway.workers.serve`` is the module; its coroutine is
``gateway.workers.serve.serve``), so a benchmark can replace a module's global by name.
"""

from __future__ import annotations

from .bodies import CLIENT_BODY_GRACE_S, capture, discard, read
from .fetch import upstream_fetch
from .kv import JsKV
from .metrics import AnalyticsEngineMetrics
from .platform import ANALYTICS_BINDING, KV_BINDING, RATE_LIMIT_BINDING, BuildGateway, build_platform
from .rate_limit import JsRateLimiter
from .serve import js_response, request_view, serve_now

__all__ = [
    "ANALYTICS_BINDING",
    "CLIENT_BODY_GRACE_S",
    "KV_BINDING",
    "RATE_LIMIT_BINDING",
    "AnalyticsEngineMetrics",
    "BuildGateway",
    "JsKV",
    "JsRateLimiter",
    "build_platform",
    "capture",
    "discard",
    "js_response",
    "read",
    "request_view",
    "serve_now",
    "upstream_fetch",
]
