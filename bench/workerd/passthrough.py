"""The minimal Python pass-through Worker: ``js.fetch`` of the incoming request to the upstream.

The floor a Python Worker sets (SDK request conversion + one FFI fetch), next to the gateway in
the same workerd (bench/workerd/workers.py). ``/_bench/import`` imports the gateway's modules
(bundled alongside, not imported at start) so the bench can time the gateway's import on workerd
from outside the isolate (workerd's clocks stand still while a request runs).
"""

from typing import Any

import js
from workers import WorkerEntrypoint

_origin: list[str] = []


class Default(WorkerEntrypoint):  # type: ignore[misc]
    async def fetch(self, request: Any) -> Any:
        req = request.js_object
        url = req.url
        path = url[url.index("/", 8) :]
        if path.startswith("/_bench/"):
            if path == "/_bench/import":
                import gateway.app
                import gateway.workers  # noqa: F401
            return js.Response.new("ok")
        if not _origin:
            _origin.append(self.env.UPSTREAM_ORIGIN)
        return await js.fetch(_origin[0] + path, req)
