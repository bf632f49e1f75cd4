"""Cloudflare Python Worker entry point.

``Default.fetch`` hands the native request to the Workers runtime adapter,
which calls the gateway's one handler, :func:`gateway.app.on_fetch`, with the
core's request view and turns the answer back into a JS ``Response``.
"""

from workers import WorkerEntrypoint

from gateway.app import on_fetch
from gateway.workers_runtime import serve


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await serve(on_fetch, request, self.env, self.ctx)
