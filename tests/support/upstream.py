"""Recording upstream servers on 127.0.0.1, shared by the test suites.

Each upstream runs aiohttp in its own thread and records every request it
receives (method, path, query, headers, body length and SHA-256), so a test
can assert on what the backend saw as well as on what the client got.

Routes (any method):

* ``/health``        200, or ``health_status`` when a test changes it
* ``/hang``          never answers (until the server stops)
* ``/big?bytes=N``   streams N deterministic bytes (:func:`pattern_chunks`)
* ``/status/<code>`` answers ``<code>`` with an empty body
* anything else      200 JSON echo of the request, plus response headers a
                     proxy must treat with care (hop-by-hop, CORS, cookies)

A test can change how one upstream answers everything but ``/health``:
``mode = "hang"`` (never answers), ``mode = "garbage"`` (writes bytes that
are not HTTP and closes), and ``echo_extra`` adds fields to the echo.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from .loop import ThreadedServer
from .processes import free_port

CHUNK = 64 * 1024

#: Response headers of the echo route that a gateway must strip (RFC 9110 §7.6.1).
UPSTREAM_HOP_HEADERS = {"connection": "keep-alive, x-upstream-hop", "x-upstream-hop": "1", "keep-alive": "timeout=7"}


def pattern_chunks(total: int, chunk: int = CHUNK):
    """Deterministic bytes, so both ends can hash a body without storing it."""
    block = hashlib.sha256(b"behaviour").digest() * (chunk // 32)
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


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    target: str  # the request target exactly as sent: path and raw query
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body_length: int
    body_sha256: str


@dataclass
class Upstream:
    """One upstream's address and what it saw."""

    port: int
    health_status: int = 200
    received: list[Received] = field(default_factory=list)
    mode: str = "echo"  # "echo" | "hang" | "garbage", for every path but /health
    echo_extra: dict[str, object] = field(default_factory=dict)
    #: Stops the server so its port refuses connections (set by UpstreamServer).
    stop: Callable[[], None] = lambda: None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, path: str | None = None) -> list[Received]:
        return [r for r in self.received if path is None or r.path == path]

    def hits(self, path: str) -> int:
        return len(self.requests(path))

    def hits_under(self, prefix: str) -> int:
        return sum(1 for r in self.received if r.path.startswith(prefix))

    def last(self, path: str) -> Received:
        found = self.requests(path)
        assert found, f"upstream {self.port} never received {path}"
        return found[-1]


class UpstreamServer(ThreadedServer):
    """``with UpstreamServer() as up:``; :meth:`stop` makes the port refuse early."""

    def __init__(self) -> None:
        super().__init__()
        self.state = Upstream(free_port())
        self.state.stop = self.stop
        self._runner: web.AppRunner | None = None

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _start(self) -> None:
        app = web.Application(client_max_size=1 << 40)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
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
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.state.received.append(
            Received(request.method, path, request.raw_path, headers, length, digest.hexdigest())
        )
        if path == "/health":
            return web.json_response({"status": "ok"}, status=self.state.health_status)
        if path == "/hang" or self.state.mode == "hang":
            await asyncio.sleep(3600)
        if self.state.mode == "garbage" and request.transport is not None:
            request.transport.write(b"\x00\xffNOT HTTP AT ALL\r\n\r\n{[")
            request.transport.close()
            await asyncio.sleep(3600)  # cancelled with the connection (handler_cancellation)
        if path.startswith("/status/"):
            return web.Response(status=int(path.rsplit("/", 1)[1]))
        if path == "/big":
            total = int(request.query.get("bytes", "0"))
            response = web.StreamResponse(headers={"content-type": "application/octet-stream"})
            response.content_length = total
            await response.prepare(request)
            for piece in pattern_chunks(total):
                await response.write(piece)
            await response.write_eof()
            return response
        response = web.json_response(
            {
                "method": request.method,
                "path": path,
                "target": request.raw_path,
                "body_length": length,
                "body_sha256": digest.hexdigest(),
                **self.state.echo_extra,
            },
            headers={
                **UPSTREAM_HOP_HEADERS,
                "x-upstream": "yes",
                "access-control-allow-origin": "*",
            },
        )
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response
