"""The gateway's Workers adapter without its core: what the Python pipeline itself costs.

``gw-adapter`` in bench/workerd/workers.py, entered by ``on_fetch`` with the gateway's
modules bundled beside it: the request read by the relay (``request_view``), two fields set,
the upstream ``fetch`` through the relay with a deadline (``upstream_fetch``), two fields
set on the answer and the answer built (``js_response``). No routing, health, limits, auth,
CORS, log line or metrics: beside ``gw-local`` (the same adapter with the core,
``Gateway.handle``) the difference is the core's own CPU per request.
"""

from typing import Any

from gateway.runtime import Response
from gateway.workers.fetch import upstream_fetch
from gateway.workers.serve import js_response, request_view

_origin: list[str] = []


def on_fetch(request: Any, env: Any, ctx: Any) -> Any:
    if not _origin:
        _origin.append(env.UPSTREAM_ORIGIN)
    view = request_view(request)
    headers = view.headers.copy()
    headers.set("x-request-id", "0123456789abcdef")
    headers.set("x-forwarded-proto", "http")
    # On on_fetch's own stack the relay's promise is waited for with run_sync, so the
    # coroutine finishes in one step (gateway.workers.serve.serve_now says why).
    steps = upstream_fetch(view.method, _origin[0] + view.url[view.url.index("/", 8) :], headers, None, 30.0)
    try:
        steps.send(None)
    except StopIteration as done:
        response: Response = done.value
    else:  # pragma: no cover — only without JSPI, where the bench does not run
        raise RuntimeError("upstream_fetch suspended: run_sync is not available here")
    response.headers.set("x-request-id", "0123456789abcdef")
    response.headers.set("x-backend", "upstream")
    return js_response(response)
