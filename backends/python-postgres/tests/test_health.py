"""/health tells the truth, fast, about a real PostgreSQL that stops, hangs and comes back.

Each test has its own server (pgserver.PgServer.temporary): it is stopped or frozen.
"Fast" is checked with a client deadline of 2 s, the gateway's HEALTH_TIMEOUT_MS
default: an answer that does not come within it fails the test (the backend's own
deadline is 1 s, gtd_pg.store.HEALTH_TIMEOUT_S).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_processes import App

import pgserver

GATEWAY_HEALTH_TIMEOUT_S = 2.0
RECOVERY_DEADLINE_S = 15.0


@pytest.fixture
def server() -> Iterator[pgserver.PgServer]:
    with pgserver.PgServer.temporary() as pg:
        yield pg


@pytest.fixture
def app(server: pgserver.PgServer, tmp_path: Path) -> Iterator[App]:
    # DB_TIMEOUT_MS=1000: the other endpoints' deadline, short so that a hang shows within the client's.
    app = App(server.database_url, tmp_path / "app.log", DB_TIMEOUT_MS="1000").start()
    yield app
    app.stop()


def _cluster_pids(server: pgserver.PgServer) -> list[int]:
    """The postmaster and its children (backends, checkpointer, ...)."""
    postmaster = int(server._pidfile_line(0) or 0)
    assert postmaster > 0, "no postmaster.pid"
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                children.append(int(entry))
    return [postmaster, *children]


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a child that exited meanwhile
            os.kill(pid, sig)


def _health(app: App) -> httpx.Response:
    return httpx.get(f"{app.url}/health", timeout=GATEWAY_HEALTH_TIMEOUT_S)


def _wait_healthy(app: App) -> httpx.Response:
    deadline = time.monotonic() + RECOVERY_DEADLINE_S
    response = _health(app)
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        response = _health(app)
    return response


def test_health_is_503_when_postgres_is_stopped(app, server):
    assert _health(app).status_code == 200
    server.stop()
    response = _health(app)
    assert response.status_code == 503
    assert response.json() == {"status": "error", "backend": "python-postgres", "db": "error"}


def test_health_is_200_again_when_postgres_restarts(app, server):
    server.stop()
    assert _health(app).status_code == 503
    server.start()
    assert _wait_healthy(app).status_code == 200


def test_health_is_503_when_postgres_hangs(app, server):
    assert _health(app).status_code == 200
    pids = _cluster_pids(server)
    _signal_all(pids, signal.SIGSTOP)
    try:
        response = _health(app)
    finally:
        _signal_all(pids, signal.SIGCONT)
    assert response.status_code == 503


def test_health_is_503_when_new_connections_hang(app, server):
    # PostgreSQL stopped and its port taken by a listener that never answers: the pool
    # has no live connection left, and connecting again hangs (an unreachable server).
    server.stop()
    with socket.create_server(("127.0.0.1", server.port), backlog=16):
        response = _health(app)
    assert response.status_code == 503


def test_health_is_200_again_when_a_hung_postgres_resumes(app, server):
    pids = _cluster_pids(server)
    _signal_all(pids, signal.SIGSTOP)
    try:
        assert _health(app).status_code == 503
    finally:
        _signal_all(pids, signal.SIGCONT)
    assert _wait_healthy(app).status_code == 200


def test_requests_are_503_json_when_postgres_is_stopped(app, server):
    server.stop()
    response = httpx.get(f"{app.url}/tasks", timeout=GATEWAY_HEALTH_TIMEOUT_S)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


def test_requests_are_503_json_when_postgres_hangs(app, server):
    httpx.post(f"{app.url}/tasks", json={"title": "before"})  # a pooled connection exists
    pids = _cluster_pids(server)
    _signal_all(pids, signal.SIGSTOP)
    try:
        response = httpx.post(f"{app.url}/tasks", json={"title": "during"}, timeout=GATEWAY_HEALTH_TIMEOUT_S)
    finally:
        _signal_all(pids, signal.SIGCONT)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


def test_requests_succeed_again_when_postgres_restarts(app, server):
    server.stop()
    assert httpx.get(f"{app.url}/tasks").status_code == 503
    server.start()
    assert _wait_healthy(app).status_code == 200
    assert httpx.post(f"{app.url}/tasks", json={"title": "after"}).status_code == 201
