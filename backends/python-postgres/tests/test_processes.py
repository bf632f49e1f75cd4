"""`python -m gtd_pg` as a process: settings, signals, persistence, workers, /health failure."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest

import pgserver

ROOT = Path(__file__).resolve().parents[1]


class App:
    def __init__(self, database_url: str, log_path: Path, **env: str) -> None:
        self.port = pgserver.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")},
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "DATABASE_URL": database_url,
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self, deadline_s: float = 30) -> App:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gtd_pg"], cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited {self.proc.returncode}:\n{self.output()}")
            try:
                httpx.get(f"{self.url}/health", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"never answered:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int, timeout_s: float = 15) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if hasattr(self, "log"):
            self.log.close()


@pytest.fixture
def app_factory(database_url, tmp_path):
    apps: list[App] = []

    def make(**env: str) -> App:
        app = App(database_url, tmp_path / f"app{len(apps)}.log", **env)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stops_gracefully_with_status_0(app_factory, sig):
    app = app_factory().start()
    assert app.signal(sig) == 0
    assert "shutting down" in app.output()


def test_data_survives_a_restart(app_factory):
    first = app_factory().start()
    task = httpx.post(f"{first.url}/tasks", json={"title": "persist a\x00b"}).json()
    assert first.signal(signal.SIGTERM) == 0
    second = app_factory().start()
    assert httpx.get(f"{second.url}/tasks/{task['id']}").json() == task
    assert task["title"] == "persist a\x00b"


def test_two_workers_serve_and_stop(app_factory):
    app = app_factory(WORKERS="2", BACKEND_ID="pg-two").start()
    with httpx.Client(base_url=app.url) as client:
        ids = {client.post("/tasks", json={"title": f"t{i}"}).json()["id"] for i in range(10)}
        listed = [t["id"] for t in client.get("/tasks").json()["tasks"]]
        assert ids <= set(listed)
        assert client.get("/health").json() == {"status": "ok", "backend": "pg-two", "db": "ok"}
    assert app.signal(signal.SIGTERM) == 0
    assert app.output().count("shutting down") == 2


def test_health_is_503_when_the_schema_cannot_be_queried(app_factory, database_url):
    app = app_factory().start()
    assert httpx.get(f"{app.url}/health").status_code == 200

    async def drop():
        conn = await asyncpg.connect(database_url)
        await conn.execute("DROP TABLE tasks CASCADE")  # CASCADE: task_dependencies refers to it
        await conn.close()

    asyncio.run(drop())
    response = httpx.get(f"{app.url}/health")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "backend": "python-postgres", "db": "error"}


def test_refuses_a_database_newer_than_the_code(app_factory, database_url):
    app_factory().start().signal(signal.SIGTERM)

    async def bump():
        conn = await asyncpg.connect(database_url)
        await conn.execute("INSERT INTO schema_version (version, name) VALUES (999, '0999_future.sql')")
        await conn.close()

    asyncio.run(bump())
    app = app_factory()
    result = subprocess.run(
        [sys.executable, "-m", "gtd_pg"], cwd=ROOT, env=app.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "newer than this code" in result.stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "seventy"}, "PORT"),
        ({"WORKERS": "0"}, "WORKERS"),
        ({"POOL_MAX": "x"}, "POOL_MAX"),
        ({"DATABASE_URL": "/tmp/x.db"}, "DATABASE_URL"),
    ],
)
def test_refuses_bad_settings_naming_the_variable(app_factory, env, variable):
    app = app_factory(**env)
    result = subprocess.run(
        [sys.executable, "-m", "gtd_pg"], cwd=ROOT, env=app.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert variable in result.stderr
