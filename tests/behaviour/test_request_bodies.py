"""Whose fault a failed request body is, on every runtime.

A body that breaks on the client's side (malformed chunked framing) is the
client's fault: 400 ``bad_request``, and the backend never sees the request
end. An upstream that breaks while a body is still streaming to it is the
backend's fault: a 5xx, never the client's 400. On workerd both used to
reject the Worker's ``fetch`` with the same "Network connection lost."
(docs/workerd.md, difference 10); ``workers_runtime._ClientBody`` tells them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from devstack.process import free_port
from tests.hardening.support import FaultServer, FaultState, raw_exchange
from tests.support.loop import ThreadedServer

from .conftest import assert_error
from .gateways import Gateway

UPSTREAMS = ()
KEY = "bodies-k3y-0123456789"
UPLOAD = 4 * 1024 * 1024


class CutsUploads(ThreadedServer):
    """An upstream that reads a request head, answers bytes that are not HTTP and resets,
    while the request body is still on its way (the unread bytes make the close a reset)."""

    def __init__(self) -> None:
        super().__init__()
        self.state = {"port": free_port(), "heads": 0}
        self._server: asyncio.base_events.Server | None = None

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.state["port"])

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.transport.abort()
            return
        if head.startswith(b"GET /health "):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            await writer.drain()
            writer.close()
            return
        self.state["heads"] += 1
        writer.write(b"SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n")
        await writer.drain()
        writer.transport.abort()


@pytest.fixture(scope="module")
def sink(runtime: str) -> Iterator[FaultState]:
    with FaultServer() as state:
        yield state


@pytest.fixture(scope="module")
def cutter(runtime: str) -> Iterator[dict[str, int]]:
    with CutsUploads() as state:
        yield state


@pytest.fixture(scope="module")
def gw(launch, sink: FaultState, cutter: dict[str, int]) -> Gateway:
    return launch(
        {
            "ENVIRONMENT": "local",
            "DEFAULT_BACKEND": "sink",
            "API_KEY": KEY,
            "BACKEND_SINK_URL": sink.url,
            "BACKEND_CUTTER_URL": f"http://127.0.0.1:{cutter['port']}",
            "UPSTREAM_TIMEOUT_MS": "10000",
        }
    )


def sent_late(port: int, head: bytes, body: bytes) -> bytes:
    """Send the head, then (once the gateway is forwarding) the body; return what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(head)
        time.sleep(0.5)
        with contextlib.suppress(OSError):
            sock.sendall(body)
        received = b""
        with contextlib.suppress(OSError):
            while b"}}" not in received and (chunk := sock.recv(65536)):
                received += chunk
        return received


def port_of(gw: Gateway) -> int:
    port = urlsplit(gw.url()).port
    assert port is not None
    return port


@pytest.mark.parametrize(
    "body",
    [b"2\r\nabXX0\r\n\r\n", b"fffffffffffffffffff\r\nab\r\n0\r\n\r\n"],
    ids=["missing-crlf", "size-overflow"],
)
def test_a_malformed_chunked_body_is_400_and_the_backend_never_sees_it_end(gw, sink, body, runtime):
    head = (
        f"POST /malformed HTTP/1.1\r\nHost: gw.example\r\nAuthorization: Bearer {KEY}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    response = raw_exchange(port_of(gw), head.encode() + body)
    assert response.status == 400, response.raw[:300]
    if "x-request-id" in response.headers:  # our answer (the Node harness's parser may answer first)
        assert response.json()["error"]["code"] == "bad_request"
    assert [c for c in sink.completed if c.target == "/malformed"] == []


def test_an_upstream_breaking_while_a_body_streams_is_a_5xx_not_the_clients_400(gw, cutter):
    # Its own connection: the upload is cut mid-body, so the server may close the connection after
    # answering, and a pooled one would be a stale connection for the next test's request.
    with httpx.Client(timeout=60) as client:
        response = client.post(
            gw.url() + "/upload", headers={"x-backend": "cutter", "x-api-key": KEY}, content=b"u" * UPLOAD
        )
    assert response.status_code in (502, 503), response.text
    assert_error(
        response, response.status_code, "bad_gateway" if response.status_code == 502 else "backend_unavailable"
    )
    assert cutter["heads"] >= 1


def test_a_sized_body_reaches_the_backend_whole_with_its_content_length(gw, sink):
    body = bytes(range(256)) * 40
    response = gw.request("POST", "/sized", headers={"x-api-key": KEY}, content=body)
    assert response.status_code == 200, response.text
    (seen,) = [c for c in sink.completed if c.target == "/sized"]
    assert seen.body == body
    assert seen.headers.get("content-length") == str(len(body))
    assert "transfer-encoding" not in seen.headers  # a backend that cannot read chunked bodies still can


def test_a_malformed_chunked_body_arriving_after_the_head_is_400(gw, sink):
    """The gateway is already forwarding when the body breaks (the Worker's fetch has started)."""
    head = (
        f"POST /malformed-late HTTP/1.1\r\nHost: gw.example\r\nAuthorization: Bearer {KEY}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = sent_late(port_of(gw), head.encode(), b"2\r\nabXX0\r\n\r\n")
    # On the Worker runtimes their own parser may answer the client first; the gateway's verdict is its log line.
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    deadline = time.monotonic() + 10
    while not (lines := [r for r in gw.log_records() if r.get("path") == "/malformed-late"]):
        assert time.monotonic() < deadline, "no log line for /malformed-late"
        time.sleep(0.05)
    assert (lines[0]["status"], lines[0]["outcome"]) == (400, "error:bad_request")
    assert [c for c in sink.completed if c.target == "/malformed-late"] == []
