"""GET /health: on every target, working; and on private SQLite backends whose schema is gone."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from harness import services
from harness.process import free_port
from tests.support.processes import start_or_fail

from .conftest import BACKEND_DEADLINE_S

# The gateway's HEALTH_TIMEOUT_MS default: a health answer that takes longer is as bad as none.
HEALTH_TIMEOUT_S = 2.0


def test_health_reports_ok_with_backend_id(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "backend": api.target.backend_id, "db": "ok"}


def test_health_is_json(api):
    response = api.get("/health")
    assert response.headers["content-type"].startswith("application/json")


def test_health_rejects_post_with_allow_header(api):
    response = api.post("/health", json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert _methods(response.headers["allow"]) == {"GET", "HEAD", "OPTIONS"}


def _methods(allow: str) -> set[str]:
    return {m.strip().upper() for m in allow.split(",")}


# -- a backend whose database fails ----------------------------------------------------
# Private instances (not the shared targets above), broken on purpose. python-postgres's
# stopped, restarted and hung PostgreSQL is tested in backends/python-postgres/tests/test_health.py.

SQLITE_BACKENDS = {"bun-sqlite": services.bun_sqlite, "ruby-sqlite": services.ruby_sqlite}


@pytest.fixture(params=sorted(SQLITE_BACKENDS))
def sqlite_backend(request, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A private SQLite backend on a free port: its URL and its database file."""
    port = free_port()
    service = SQLITE_BACKENDS[request.param](port, tmp_path / "data", tmp_path / "logs")
    start_or_fail(service, BACKEND_DEADLINE_S)
    yield f"http://127.0.0.1:{port}", tmp_path / "data" / "gtd.db"
    service.stop()


def test_health_is_503_when_the_schema_is_gone(sqlite_backend, checker):
    url, database = sqlite_backend
    assert httpx.get(f"{url}/health").status_code == 200
    with closing(sqlite3.connect(database)) as db:
        db.execute("DROP TABLE tasks")
    response = httpx.get(f"{url}/health", timeout=HEALTH_TIMEOUT_S)
    checker.check(response)
    assert response.status_code == 503
    assert response.json()["db"] == "error"
