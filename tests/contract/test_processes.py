"""The backends as processes: settings, persistence, shutdown, and /health when the database breaks.

These start their own short-lived instances (not the shared session servers)
because they restart, signal or break them.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from harness import services
from harness.process import Service, free_port, tail
from tests.support.processes import start_or_fail

DEADLINE_S = 30


def _signal_and_wait(service: Service, sig: signal.Signals) -> int:
    assert service.process is not None
    service.process.send_signal(sig)
    try:
        return service.process.wait(timeout=10)
    finally:
        service.stop()


def _bun(tmp_path: Path, **env: str) -> Service:
    port = free_port()
    service = services.bun_sqlite(port, tmp_path / "data", tmp_path / "logs")
    service.env.update(env)
    return service


# -- bun-sqlite ----------------------------------------------------------------


def test_bun_health_is_503_when_the_database_cannot_be_queried(tmp_path, checker):
    """Honest failure: another connection drops the schema under the running server."""
    service = start_or_fail(_bun(tmp_path), DEADLINE_S)
    try:
        with httpx.Client(base_url=service.health_url.removesuffix("/health")) as client:
            assert client.get("/health").status_code == 200
            with sqlite3.connect(tmp_path / "data" / "gtd.db") as db:
                db.execute("DROP TABLE tasks")
            response = client.get("/health")
            assert response.status_code == 503
            assert response.json() == {"status": "error", "backend": "bun-sqlite", "db": "error"}
            checker.check(response)
    finally:
        service.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_bun_stops_gracefully_with_status_0(tmp_path, sig):
    service = start_or_fail(_bun(tmp_path), DEADLINE_S)
    assert _signal_and_wait(service, sig) == 0
    assert "shutting down" in tail(service.log_path)


def test_bun_data_survives_a_restart(tmp_path):
    first = start_or_fail(_bun(tmp_path), DEADLINE_S)
    base = first.health_url.removesuffix("/health")
    task = httpx.post(f"{base}/tasks", json={"title": "persist me"}).json()
    assert _signal_and_wait(first, signal.SIGTERM) == 0

    second = start_or_fail(_bun(tmp_path), DEADLINE_S)
    try:
        base = second.health_url.removesuffix("/health")
        assert httpx.get(f"{base}/tasks/{task['id']}").json() == task
    finally:
        second.stop()


def test_bun_uses_wal_and_records_the_schema_version(tmp_path):
    service = start_or_fail(_bun(tmp_path), DEADLINE_S)
    service.stop()
    with sqlite3.connect(tmp_path / "data" / "gtd.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_bun_reports_backend_id_from_env(tmp_path):
    service = start_or_fail(_bun(tmp_path, BACKEND_ID="bun-sqlite-eu"), DEADLINE_S)
    try:
        assert httpx.get(service.health_url).json()["backend"] == "bun-sqlite-eu"
    finally:
        service.stop()


@pytest.mark.parametrize(
    ("env", "variable"),
    [({"PORT": "seventy"}, "PORT"), ({"PORT": "70000"}, "PORT"), ({"DATABASE_URL": "/tmp/x.db"}, "DATABASE_URL")],
)
def test_bun_refuses_bad_settings_naming_the_variable(tmp_path, env, variable):
    service = _bun(tmp_path, **env)
    result = subprocess.run(service.argv, cwd=service.cwd, env=service.env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert variable in result.stderr


# -- cf-d1 -----------------------------------------------------------------------


def _d1(persist: Path, logs: Path) -> Service:
    return services.cf_d1(free_port(), persist, logs, inspector_port=free_port())


def test_d1_data_survives_a_restart(tmp_path):
    persist, logs = tmp_path / "state", tmp_path / "logs"
    services.apply_d1_migrations(persist, logs)
    first = start_or_fail(_d1(persist, logs), 90)
    try:
        base = first.health_url.removesuffix("/health")
        task = httpx.post(f"{base}/tasks", json={"title": "persist me"}).json()
    finally:
        first.stop()

    services.apply_d1_migrations(persist, logs)  # idempotent: nothing left to apply
    second = start_or_fail(_d1(persist, logs), 90)
    try:
        base = second.health_url.removesuffix("/health")
        assert httpx.get(f"{base}/tasks/{task['id']}").json() == task
    finally:
        second.stop()


def test_d1_health_is_503_without_migrations(tmp_path, checker):
    """Honest failure: a D1 database whose schema was never created cannot be queried."""
    service = _started_expecting_503(_d1(tmp_path / "empty-state", tmp_path / "logs"))
    try:
        response = httpx.get(service.health_url)
        assert response.status_code == 503
        assert response.json() == {"status": "error", "backend": "cf-d1", "db": "error"}
        checker.check(response)
    finally:
        service.stop()


def _started_expecting_503(service: Service, deadline_s: float = 90) -> Service:
    """Start a service whose /health is expected to fail: wait until it answers at all."""
    service.start()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if service.process is not None and service.process.poll() is not None:
            service.stop()
            pytest.fail(f"{service.name} exited:\n{tail(service.log_path)}", pytrace=False)
        try:
            httpx.get(service.health_url, timeout=2)
            return service
        except httpx.TransportError:
            time.sleep(0.2)
    service.stop()
    pytest.fail(f"{service.name} never answered:\n{tail(service.log_path)}", pytrace=False)
