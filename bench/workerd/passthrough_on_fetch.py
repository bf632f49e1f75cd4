"""The Python pass-through Worker entered as the gateway is: one top-level ``on_fetch``.

The floor the gateway is judged against (bench/workerd/workers.py, ``py-onfetch``): workerd
calls ``on_fetch`` with the raw JS ``Request`` in one relaxed call, no SDK class, no RPC
conversions; the Worker fetches the upstream with the request as it came and returns the JS
``Response``. Needs ``disable_python_no_global_handlers`` (wrangler.toml), as the gateway does.
"""

from typing import Any

import js

_origin: list[str] = []


async def on_fetch(request: Any, env: Any, ctx: Any) -> Any:
    url = request.url
    path = url[url.index("/", 8) :]
    if not _origin:
        _origin.append(env.UPSTREAM_ORIGIN)
    return await js.fetch(_origin[0] + path, request)
