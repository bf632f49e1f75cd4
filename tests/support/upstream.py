"""Real upstream servers on 127.0.0.1, run in a background thread.

Each records what it received, so tests can assert on both sides of the
gateway. Routes (any method):

* ``/health`` → 200 ``{"status":"ok"}`` (or 503 after ``set_healthy(False)``)
* ``/echo/...`` → JSON of method, path, query, headers and body length
* ``/hang`` → accepts and never answers
* ``/sink`` → reads the whole body, answers its length and SHA-256
* ``/source?bytes=N`` → streams N pseudo-random bytes, ``x-sha256`` trailer-free:
  the digest is computable by the client from the same generator
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass, field

from aiohttp import web

from .processes import free_port

CHUNK = 64 * 1024


def pattern_chunks(total: int, chunk: int = CHUNK):
    """Deterministic bytes (so both ends can hash them without storing them)."""
    block = hashlib.sha256(b"gateway-test").digest() * (chunk // 32)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


def pattern_digest(total: int) -> str:
    digest = hashlib.sha256()
    for piece in pattern_chunks(total):
        digest.update(piece)
    return digest.hexdigest()


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body_length: int


@dataclass
class Upstream:
    port: int
    received: list[Received] = field(default_factory=list)
    healthy: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hits(self, path_prefix: str) -> int:
        return sum(1 for r in self.received if r.path.startswith(path_prefix))


class UpstreamServer:
    """Start with ``with UpstreamServer() as up:``; ``up.stop()`` kills it early."""

    def __init__(self) -> None:
        self.state = Upstream(free_port())
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> Upstream:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._runner = None

    async def _start(self) -> None:
        app = web.Application(client_max_size=1 << 40)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.state.port).start()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        length = 0
        digest = hashlib.sha256()
        if path != "/hang":
            async for chunk in request.content.iter_chunked(CHUNK):
                length += len(chunk)
                digest.update(chunk)
        self.state.received.append(
            Received(request.method, path, request.query_string, [(k.lower(), v) for k, v in request.headers.items()], length)
        )
        if path == "/health":
            return web.json_response({"status": "ok" if self.state.healthy else "error"}, status=200 if self.state.healthy else 503)
        if path == "/hang":
            await asyncio.sleep(3600)
        if path == "/sink":
            return web.json_response({"length": length, "sha256": digest.hexdigest()})
        if path == "/source":
            total = int(request.query.get("bytes", "0"))
            response = web.StreamResponse(headers={"content-type": "application/octet-stream"})
            response.content_length = total
            await response.prepare(request)
            for piece in pattern_chunks(total):
                await response.write(piece)
            await response.write_eof()
            return response
        return web.json_response(
            {
                "method": request.method,
                "path": path,
                "query": request.query_string,
                "raw_target": request.raw_path,
                "headers": [[k.lower(), v] for k, v in request.headers.items()],
                "body_length": length,
            },
            headers={"connection": "keep-alive, x-upstream-private", "x-upstream-private": "1", "keep-alive": "timeout=5"},
        )
