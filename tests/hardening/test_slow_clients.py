"""Slow clients: dribbled headers, stalled bodies, silent connections.

Each is cut by one of the twin's connection guards (CLIENT_HEADER_TIMEOUT_MS,
CLIENT_BODY_TIMEOUT_MS) while other clients are served as usual.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx

from tests.hardening.support import open_fds, parse_response, read_response, wait_until
from tests.support.processes import running_twin
from tests.support.upstream import FaultServer

BOUND_S = 10.0


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": url, **extra}


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _dribble_headers(port: int, results: list[bool], limit_s: float) -> None:
    """Send a request head one short line every 200 ms for ``limit_s``; record whether the
    server cut the connection while we were still sending (True) or let us run to the end."""
    started = time.monotonic()
    cut_while_dribbling = False
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND_S) as sock:
        try:
            sock.sendall(b"GET /slowloris HTTP/1.1\r\nHost: t\r\n")
            while time.monotonic() - started < limit_s:
                time.sleep(0.2)
                sock.sendall(b"X-Drip: 1\r\n")
        except OSError:
            cut_while_dribbling = True  # the server closed it: the next write after its FIN fails
        sock.settimeout(max(0.1, limit_s - (time.monotonic() - started)))
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
    results.append(cut_while_dribbling)


def test_dribbled_headers_are_cut_at_the_header_timeout_while_others_are_served(tmp_path):
    env = env_for("", CLIENT_HEADER_TIMEOUT_MS="1000")
    with FaultServer() as up, running_twin({**env, "BACKEND_APP_URL": up.url}, tmp_path) as twin:
        assert httpx.get(twin.url + "/warm", timeout=BOUND_S).status_code == 200
        fds_before = open_fds(twin.proc.pid)
        cut: list[bool] = []
        # Each dribbles for 8 s, eight times the header timeout: a guard that works cuts it first.
        slow = [threading.Thread(target=_dribble_headers, args=(port_of(twin.url), cut, 8.0)) for _ in range(20)]
        for thread in slow:
            thread.start()
        time.sleep(0.3)
        others = []
        with httpx.Client(timeout=BOUND_S) as http:
            while any(t.is_alive() for t in slow) and len(others) < 500:
                others.append(http.get(twin.url + "/others").status_code)
        for thread in slow:
            thread.join(BOUND_S)
        fds_back = wait_until(lambda: open_fds(twin.proc.pid) <= fds_before, timeout_s=5)
        dribbled = up.hits("/slowloris")

    assert cut == [True] * 20, f"{cut.count(False)} of {len(cut)} dribbling clients were never cut"
    assert others and set(others) == {200}
    assert dribbled == 0
    assert fds_back


def test_a_connection_that_never_sends_anything_is_closed(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url, CLIENT_HEADER_TIMEOUT_MS="800"), tmp_path) as twin:
        # BOUND_S is "never": a twin that does not close raises socket.timeout here.
        with socket.create_connection(("127.0.0.1", port_of(twin.url)), timeout=BOUND_S) as sock:
            closed = sock.recv(1) == b""

    assert closed


def test_an_idle_keep_alive_connection_is_not_cut_by_the_header_timeout(tmp_path):
    request = b"GET /again HTTP/1.1\r\nHost: t\r\n\r\n"
    with FaultServer() as up, running_twin(env_for(up.url, CLIENT_HEADER_TIMEOUT_MS="500"), tmp_path) as twin:
        with socket.create_connection(("127.0.0.1", port_of(twin.url)), timeout=BOUND_S) as sock:
            sock.sendall(request)
            first = read_response(sock)[0]
            time.sleep(1.5)  # idle between requests: the keep-alive timeout's business, not the head's
            sock.sendall(request)
            second = read_response(sock)[0]

    assert (first, second) == (200, 200)


def test_a_stalled_request_body_gets_408_and_the_upstream_request_is_aborted(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url, CLIENT_BODY_TIMEOUT_MS="1000"), tmp_path) as twin:
        assert httpx.get(twin.url + "/warm", timeout=BOUND_S).status_code == 200
        open_before = up.open_connections
        # BOUND_S is "never": a twin that neither answers nor closes raises socket.timeout here.
        with socket.create_connection(("127.0.0.1", port_of(twin.url)), timeout=BOUND_S) as sock:
            sock.sendall(b"POST /stalled HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10)
            received = b""
            while True:  # read until the twin closes the connection
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        released = wait_until(lambda: up.open_connections <= open_before, timeout_s=5)
        others = httpx.get(twin.url + "/others", timeout=BOUND_S)

    status, _headers, body = parse_response(received)
    assert status == 408
    assert b'"code":"request_timeout"' in body
    assert released
    assert up.hits("/stalled") == 1 and up.body_bytes_read == 0  # never a complete request upstream
    assert others.status_code == 200


def test_a_slow_but_steady_body_is_not_cut(tmp_path):
    # The body timeout bounds each gap, not the whole upload.
    def body():
        for _ in range(8):
            time.sleep(0.3)
            yield b"x" * 10

    with FaultServer() as up, running_twin(env_for(up.url, CLIENT_BODY_TIMEOUT_MS="1000"), tmp_path) as twin:
        response = httpx.post(twin.url + "/steady", content=body(), timeout=BOUND_S)

    assert response.status_code == 200
    assert response.json()["body_length"] == 80
