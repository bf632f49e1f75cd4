"""Whose fault a failed request body is, on every runtime.

A body that breaks on the client's side (malformed chunked framing) is the
client's fault: 400 ``bad_request``, and the backend never sees the request
end. An upstream that breaks while a body is still streaming to it is the
backend's fault: a 5xx, never the client's 400. On workerd both used to
reject the Worker's ``fetch`` with the same "Network connection lost."
(docs/workerd.md, difference 10); ``gateway.workers.bodies.ClientBody`` tells them apart.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.hardening.support import raw_exchange, wait_until
from tests.support.upstream import FaultServer, FaultState, cut_upload

from .conftest import assert_error
from .gateways import Gateway

UPSTREAMS = ()
KEY = "bodies-k3y-0123456789"
UPLOAD = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def sink(runtime: str) -> Iterator[FaultState]:
    with FaultServer() as state:
        yield state


@pytest.fixture(scope="module")
def cutter(runtime: str) -> Iterator[FaultState]:
    """An upstream that reads a request head, answers bytes that are not HTTP and resets,
    while the request body is still on its way."""
    with FaultServer({"/upload": cut_upload}, unread=("/upload",)) as state:
        yield state


@pytest.fixture(scope="module")
def gw(launch, sink: FaultState, cutter: FaultState) -> Gateway:
    return launch(
        {
            "ENVIRONMENT": "local",
            "DEFAULT_BACKEND": "sink",
            "API_KEY": KEY,
            "BACKEND_SINK_URL": sink.url,
            "BACKEND_CUTTER_URL": cutter.url,
            "UPSTREAM_TIMEOUT_MS": "10000",
        }
    )


def sent_late(port: int, head: bytes, body: bytes, forwarding: Callable[[], bool]) -> bytes:
    """Send the head, wait until ``forwarding()`` (the upstream has the head), send the body; return the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(head)
        assert wait_until(forwarding, timeout_s=15), "the gateway never forwarded the request head"
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
    if runtime == "pyodide":
        # Head and broken body arrive in one packet: the Node harness's own parser answers (a bare 400)
        # before the gateway reads the body. Its verdict is the log line.
        assert "x-request-id" not in response.headers, response.raw[:300]
    else:
        assert response.json()["error"]["code"] == "bad_request", response.raw[:300]
        assert response.headers["x-request-id"] == response.json()["error"]["request_id"]
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
    assert cutter.hits("/upload") >= 1


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
    # One well-formed chunk goes with the head: the Node harness's fetch starts with the first body bytes.
    answer = sent_late(
        port_of(gw), head.encode() + b"2\r\nab", b"XX0\r\n\r\n", lambda: ("POST", "/malformed-late") in sink.requests
    )
    # On the Worker runtimes their own parser may answer the client first; the gateway's verdict is its log line.
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
    deadline = time.monotonic() + 10
    while not (lines := [r for r in gw.log_records() if r.get("path") == "/malformed-late"]):
        assert time.monotonic() < deadline, "no log line for /malformed-late"
        time.sleep(0.05)
    assert (lines[0]["status"], lines[0]["outcome"]) == (400, "error:bad_request")
    assert [c for c in sink.completed if c.target == "/malformed-late"] == []
