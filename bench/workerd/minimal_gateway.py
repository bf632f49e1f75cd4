"""The least a header-editing Python gateway does per request, written by hand.

A reference beside the gateway in the bench's workerd phase (bench/workerd/workers.py,
``py-min``), entered by a top-level ``on_fetch`` as the gateway is: it reads the request's
headers into Python once (one ``JSON.stringify``, as the gateway does), takes the credential
out, adds a request id and ``x-forwarded-proto``, fetches with a fresh init object (one
``JSON.parse``) and an ``AbortController``, reads the upstream's headers once, answers with a
new ``Response`` carrying two headers of its own, and writes one ``console.log`` line. No
routing, health, CORS, deadline or error mapping: what is left is the runtime's cost of
touching headers at all, which the pass-through never pays. (Until 2026-12-06 it was entered
by ``class Default(WorkerEntrypoint)`` and read headers with ``to_py``.)
"""

import json
import os
from typing import Any

import js

# JS globals, read at the first request (one globalThis read each, not one per use).
_natives: list[Any] = []


async def on_fetch(request: Any, env: Any, ctx: Any) -> Any:
    if not _natives:
        _natives.extend(
            [
                js.Array.from_,
                js.JSON.parse,
                js.JSON.stringify,
                js.fetch,
                js.Response,
                js.console.log,
                js.AbortController,
            ]
        )
        _natives.append(env.UPSTREAM_ORIGIN)
    array_from, parse, stringify, fetch, response_class, log, abort_controller, origin = _natives
    url = request.url
    path = url[url.index("/", 8) :]
    headers = dict(json.loads(stringify(array_from(request.headers))))
    request_id = headers.get("x-request-id") or os.urandom(16).hex()
    headers.pop("authorization", None)
    headers["x-forwarded-proto"] = "http"
    headers["x-request-id"] = request_id
    controller = abort_controller.new()
    init = parse(json.dumps({"method": request.method, "headers": headers, "redirect": "manual"}))
    init.signal = controller.signal
    response = await fetch(origin + path, init)
    status = response.status
    out = dict(json.loads(stringify(array_from(response.headers))))
    out["x-request-id"] = request_id
    out["x-backend"] = "upstream"
    log(json.dumps({"request_id": request_id, "path": path, "status": status}))
    return response_class.new(response.body, parse(json.dumps({"status": status, "headers": out})))
