"""The fake upstreams of every suite, on 127.0.0.1, each on its own loop thread.

Two kinds, both recording what reached them, so a test can assert on what
the backend saw as well as on what the client got:

* recording (:class:`UpstreamServer`): a well-behaved HTTP server (aiohttp)
  that echoes each request as JSON and records method, path, query, headers,
  body length, SHA-256 and the first 64 KiB of the body;
* faulting (:class:`FaultServer`): a plain asyncio TCP server (no HTTP
  library), scripted per path prefix with actions, so it can misbehave in
  ways a framework would refuse to: never answer, stall a body, reset
  mid-body, answer with something that is not HTTP, cut an upload. It counts
  the connections it holds open, so a test can tell whether the gateway
  released its side of an exchange.

The twin's outbound client has its own byte-for-byte scripted upstream in
tests/unit/local_runner/scripted_upstream.py (coroutine-level, no thread).

Routes of :class:`UpstreamServer` (any method):

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
import contextlib
import hashlib
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from .loop import ThreadedServer
from .processes import free_port

CHUNK = 64 * 1024
#: How much of each request body the recording upstream keeps (all of it is hashed).
KEPT_BODY_BYTES = 64 * 1024

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
    body: bytes = b""  # the first KEPT_BODY_BYTES of it


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
        kept = bytearray()
        if path != "/hang":
            async for chunk in request.content.iter_chunked(CHUNK):
                length += len(chunk)
                digest.update(chunk)
                if len(kept) < KEPT_BODY_BYTES:
                    kept += chunk[: KEPT_BODY_BYTES - len(kept)]
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.state.received.append(
            Received(request.method, path, request.raw_path, headers, length, digest.hexdigest(), bytes(kept))
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


# -- faulting: a raw asyncio server that misbehaves on purpose ------------------------------

Action = Callable[["Exchange"], Awaitable[bool]]  # returns True to keep the connection


@dataclass
class Exchange:
    """One request as the fault server read it, and the socket to answer on."""

    method: str
    path: str
    headers: dict[str, str]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    body_length: int = 0
    body: bytes = b""


@dataclass
class Completed:
    """A request the fault server read in full (head and body)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FaultState:
    port: int
    accepted: int = 0
    open_connections: int = 0
    #: (method, target) of every request head read, complete or not.
    requests: list[tuple[str, str]] = field(default_factory=list)
    #: every request whose body was read to its end (bodies kept up to 64 KiB).
    completed: list[Completed] = field(default_factory=list)
    body_bytes_read: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def hits(self, prefix: str) -> int:
        return sum(1 for _, path in self.requests if path.startswith(prefix))


def reply(status: int, body: bytes, *, content_type: str = "application/json", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


async def ok(ex: Exchange) -> bool:
    ex.writer.write(reply(200, json.dumps({"path": ex.path, "body_length": ex.body_length}).encode()))
    await ex.writer.drain()
    return True


async def _until_peer_closes(ex: Exchange, limit_s: float = 600) -> None:
    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(ex.reader.read(), limit_s)


async def hang(ex: Exchange) -> bool:
    """Never answer; hold the connection until the gateway lets go of it."""
    await _until_peer_closes(ex)
    return False


async def stall_body(ex: Exchange) -> bool:
    """Headers promising 1 MB, 10 bytes of it, then silence."""
    ex.writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000000\r\n\r\n" + b"x" * 10)
    await ex.writer.drain()
    await _until_peer_closes(ex)
    return False


async def reset_mid_body(ex: Exchange) -> bool:
    """Headers promising 1 MB, 64 KiB of it, then a TCP reset."""
    ex.writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000000\r\n\r\n" + b"x" * 65536)
    await ex.writer.drain()
    await asyncio.sleep(0.1)
    sock = ex.writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ex.writer.transport.abort()
    return False


async def garbage(ex: Exchange) -> bool:
    ex.writer.write(b"SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\x00\x01\x02\r\n\r\n")
    await ex.writer.drain()
    return False


async def slow_source(ex: Exchange) -> bool:
    """A long download, 64 KiB every 20 ms, until the reader goes away (bounded at 60 s)."""
    ex.writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000000000\r\n\r\n")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ex.writer.write(b"y" * 65536)
        await ex.writer.drain()
        await asyncio.sleep(0.02)
    return False


def slow(delay_s: float, then: Action = ok) -> Action:
    async def action(ex: Exchange) -> bool:
        await asyncio.sleep(delay_s)
        return await then(ex)

    return action


def status(code: int) -> Action:
    async def action(ex: Exchange) -> bool:
        ex.writer.write(reply(code, b'{"status":"x"}'))
        await ex.writer.drain()
        return True

    return action


async def cut_upload(ex: Exchange) -> bool:
    """With the request body still on its way: bytes that are not HTTP, then a close (the unread bytes make it a reset)."""
    ex.writer.write(b"SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n")
    await ex.writer.drain()
    ex.writer.transport.abort()
    return False


class FaultServer(ThreadedServer):
    """``with FaultServer({"/hang": hang, "/health": ok}) as up:``; unknown paths get ``ok``.

    Routes are looked up by longest matching prefix and may be replaced while
    the server runs (``server.routes["/health"] = status(503)``). Request
    bodies are read (Content-Length or chunked) before the action runs, except
    under the prefixes in ``unread`` (their action gets the body unread, as
    :func:`cut_upload` needs) and under ``/slow-sink``, which reads the body at
    ``sink_rate`` bytes a second.
    """

    def __init__(
        self, routes: dict[str, Action] | None = None, *, sink_rate: int = 64 * 1024, unread: tuple[str, ...] = ()
    ) -> None:
        self.routes: dict[str, Action] = dict(routes or {})
        self.unread = unread
        self.state = FaultState(free_port())
        self.sink_rate = sink_rate
        super().__init__()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start_again(self) -> None:
        """Listen again on the same port (a restarted backend)."""
        self._loop.run(self._start())
        self._listening = True

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.state.port, reuse_address=True)

    async def _stop(self) -> None:
        """Stop listening and drop every open connection (a killed backend)."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    def _route(self, path: str) -> Action:
        best = ""
        for prefix in self.routes:
            if path.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.routes[best] if best else ok

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.state.accepted += 1
        self.state.open_connections += 1
        self._writers.add(writer)
        try:
            keep = True
            while keep:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = ([*lines[0].split(" ", 2), "", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                self.state.requests.append((method, path))
                ex = Exchange(method, path, headers, reader, writer)
                if path.startswith("/slow-sink"):
                    keep = await self._slow_sink(ex)
                    continue
                if path.startswith(self.unread):
                    keep = await self._route(path)(ex)
                    continue
                ex.body = await self._read_body(reader, headers)
                ex.body_length = len(ex.body)
                self.state.body_bytes_read += ex.body_length
                self.state.completed.append(Completed(method, path, headers, ex.body[: 64 * 1024]))
                keep = await self._route(path)(ex)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            self.state.open_connections -= 1
            writer.transport.abort()

    async def _read_body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    return b"".join(parts)
                parts.append((await reader.readexactly(size + 2))[:-2])
        length = int(headers.get("content-length", "0") or 0)
        return await reader.readexactly(length) if length else b""

    async def _slow_sink(self, ex: Exchange) -> bool:
        """Read the body slowly, counting it; answer once it is all in."""
        while True:
            chunk = await ex.reader.read(4096)
            if not chunk:
                return False
            self.state.body_bytes_read += len(chunk)
            ex.body_length += len(chunk)
            await asyncio.sleep(len(chunk) / self.sink_rate)
