"""The least header-editing Python gateway with the headers left in JS: edited in place.

Entered by ``on_fetch`` (``py-min-native`` in bench/workerd/workers.py). The same edits as
``minimal_gateway.py`` (the credential out, a request id and ``x-forwarded-proto`` in, two
headers on the answer, one log line), made on the runtime's own ``Headers`` objects one FFI
call at a time: the subrequest is ``new Request(url, request)`` and the answer
``new Response(body, response)``, so no header is read into Python at all. Beside
``py-min`` it shows which way of touching headers costs workerd less.
"""

import json
import os
from typing import Any

import js

# JS globals, read at the first request (one globalThis read each, not one per use).
_natives: list[Any] = []


async def on_fetch(request: Any, env: Any, ctx: Any) -> Any:
    if not _natives:
        _natives.extend([js.fetch, js.Request, js.Response, js.console.log, js.AbortController])
        _natives.append(env.UPSTREAM_ORIGIN)
    fetch, request_class, response_class, log, abort_controller, origin = _natives
    url = request.url
    path = url[url.index("/", 8) :]
    outgoing = request_class.new(origin + path, request)
    headers = outgoing.headers
    request_id = headers.get("x-request-id") or os.urandom(16).hex()
    headers.delete("authorization")
    headers.set("x-forwarded-proto", "http")
    headers.set("x-request-id", request_id)
    controller = abort_controller.new()
    # The controller as the init dictionary: WebIDL reads its ``signal`` member (one object fewer).
    response = await fetch(outgoing, controller)
    status = response.status
    answer = response_class.new(response.body, response)
    out = answer.headers
    out.set("x-request-id", request_id)
    out.set("x-backend", "upstream")
    log(json.dumps({"request_id": request_id, "path": path, "status": status}))
    return answer
