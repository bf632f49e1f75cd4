"""Cloudflare Python Worker entry point.

``Default.fetch`` hands the native request to the Workers runtime adapter,
which builds the gateway once per environment (:func:`gateway.app.build_gateway`),
serves the core's request view with its one pipeline (``Gateway.handle``) and
turns the answer back into a JS ``Response``.
"""

from typing import Any

from workers import WorkerEntrypoint

from gateway.app import build_gateway
from gateway.workers_runtime import serve


class Default(WorkerEntrypoint):  # type: ignore[misc]  # the SDK exists only inside Pyodide
    async def fetch(self, request: Any) -> Any:
        return await serve(build_gateway, request, self.env, self.ctx)
