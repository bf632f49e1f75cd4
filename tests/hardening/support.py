"""Tools for the hardening suite: raw sockets and process probes.

Everything talks to 127.0.0.1 only. The misbehaving upstream the suite uses
(:class:`~tests.support.upstream.FaultServer`) is in tests/support/upstream.py,
with the other fake upstreams.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
