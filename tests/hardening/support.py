"""Tools for the hardening suite: raw sockets, misbehaving upstreams, process probes.

Everything listens on and talks to 127.0.0.1 only. :class:`FaultServer` is
a plain asyncio TCP server (no HTTP library), so it can misbehave in ways a
well-behaved framework would refuse to: never answer, stall a body, reset
mid-body, or answer with something that is not HTTP. It counts the
connections it holds open, so a test can tell whether the gateway released
its side of an exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.loop import ThreadedServer
from tests.support.processes import free_port

#: The API key every twin of this suite runs with; the log scan looks for it.
API_KEY = "hk-7f3a9c1e-never-log-me"
AUTH = {"authorization": f"Bearer {API_KEY}"}


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passes; return the last result."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return predicate()


def open_fds(pid: int) -> int:
    """How many file descriptors process ``pid`` holds open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    """Current resident set size of ``pid`` (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


# --------------------------------------------------------------------------
# Raw HTTP over a socket


@dataclass
class RawResponse:
    """What came back on a raw socket: one parsed response, and whether the peer closed."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    closed: bool
    raw: bytes

    def json(self) -> object:
        return json.loads(self.body)


def parse_response(data: bytes) -> tuple[int | None, dict[str, str], bytes]:
    """The first final response in ``data`` (interim 1xx responses are skipped)."""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return None, {}, b""
        lines = head.split(b"\r\n")
        try:
            status = int(lines[0].split(b" ", 2)[1])
        except (IndexError, ValueError):
            return None, {}, b""
        if status >= 200:
            break
        data = rest
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    length = headers.get("content-length")
    body = rest[: int(length)] if length is not None and length.isdigit() else rest
    return status, headers, body


def read_response(sock: socket.socket) -> tuple[int | None, dict[str, str], bytes]:
    """Read one response with a Content-Length from a connected socket (keep-alive safe)."""
    received = b""
    while True:
        status, headers, body = parse_response(received)
        if status is not None and len(body) >= int(headers.get("content-length", "0")):
            return status, headers, body
        chunk = sock.recv(65536)
        if not chunk:
            return status, headers, body
        received += chunk


def raw_exchange(port: int, data: bytes, *, timeout_s: float = 10.0, linger_s: float = 0.3) -> RawResponse:
    """Send ``data`` and read one response; then wait ``linger_s`` to see whether the server closes.

    The read stops once one complete response (by Content-Length) is in,
    so a keep-alive answer does not cost the whole timeout.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may cut us off before we finish writing
        received = b""
        closed = False
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status, headers, body = parse_response(received)
            if status is not None and "content-length" in headers and len(body) >= int(headers["content-length"]):
                break
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
        if not closed and linger_s > 0:
            sock.settimeout(linger_s)
            try:
                closed = sock.recv(1) == b""
            except TimeoutError:
                closed = False
            except OSError:
                closed = True
    status, headers, body = parse_response(received)
    return RawResponse(status, headers, body, closed, received)


# --------------------------------------------------------------------------
# A misbehaving upstream

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


def _reply(status: int, body: bytes, *, content_type: str = "application/json", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode()
        + body
    )


async def ok(ex: Exchange) -> bool:
    ex.writer.write(_reply(200, json.dumps({"path": ex.path, "body_length": ex.body_length}).encode()))
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
        ex.writer.write(_reply(code, b'{"status":"x"}'))
        await ex.writer.drain()
        return True

    return action


class FaultServer(ThreadedServer):
    """``with FaultServer({"/hang": hang, "/health": ok}) as up:``; unknown paths get ``ok``.

    Routes are looked up by longest matching prefix and may be replaced while
    the server runs (``server.routes["/health"] = status(503)``). Request
    bodies are read (Content-Length or chunked) before the action runs, except
    under ``/slow-sink``, which reads the body at ``sink_rate`` bytes a second.
    """

    def __init__(self, routes: dict[str, Action] | None = None, *, sink_rate: int = 64 * 1024) -> None:
        self.routes: dict[str, Action] = dict(routes or {})
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
