"""``python -m devstack`` (make run) for real: start, serve through the gateway, Ctrl-C, restart with the data intact."""

from __future__ import annotations

import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.process import Service, free_port

DEADLINE_S = 600  # the first run builds the web app
BACKENDS = ("bun-sqlite", "cf-d1", "ruby-sqlite", "python-postgres", "elixir-sqlite")


def _stack(ports: dict[str, int], data_dir: Path, out: Path) -> Service:
    argv = [
        sys.executable, "-m", "devstack",
        "--gateway-port", str(ports["gateway"]),
        "--bun-port", str(ports["bun"]),
        "--d1-port", str(ports["d1"]),
        "--d1-cloud-port", str(ports["d1_cloud"]),
        "--ruby-port", str(ports["ruby"]),
        "--frontend-port", str(ports["frontend"]),
        "--python-port", str(ports["python"]),
        "--elixir-port", str(ports["elixir"]),
        "--postgres-port", str(ports["postgres"]),
        "--data-dir", str(data_dir),
        "--grace", "5",
    ]  # fmt: skip
    # SIGINT is the user's Ctrl-C: the stack stops its services and exits 0.
    service = Service("make run", argv, log_path=out, stop_signal=signal.SIGINT).start()
    try:
        return service.wait_for_output("all healthy", timeout_s=DEADLINE_S)
    except BaseException:
        service.stop()
        raise


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory PostgreSQL's account can reach: as root it runs as ``postgres``,
    which cannot enter pytest's 0700 temporary tree."""
    path = Path(tempfile.mkdtemp(prefix="gtd-run-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_run_stack_serves_both_backends_stops_on_sigint_and_keeps_data(tmp_path, data_dir):
    ports = {
        name: free_port()
        for name in ("gateway", "bun", "d1", "d1_cloud", "ruby", "python", "elixir", "postgres", "frontend")
    }
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    out = tmp_path / "run_stack.out"

    first = _stack(ports, data_dir, out)
    try:
        banner = out.read_text()
        app = f"http://127.0.0.1:{ports['frontend']}"
        shown = [line for line in banner.splitlines() if not line.startswith("[run_stack]")]
        assert shown[0] == f"Open the app: {app}", banner  # the web app's address comes first
        page = httpx.get(app + "/", timeout=30)
        assert page.status_code == 200 and "<html" in page.text
        assert gateway in banner
        for backend in BACKENDS:
            assert f"x-backend: {backend}" in banner
        assert "cf-d1-cloud-stand-in" in banner and "x-backend-location: cloud" in banner
        created = {}
        for backend in BACKENDS:
            response = httpx.post(f"{gateway}/tasks", json={"title": f"keep {backend}"}, headers={"x-backend": backend})
            assert response.status_code == 201, response.text
            assert response.headers["x-backend"] == backend
            created[backend] = response.json()
        # Hybrid routing: cf-d1's cloud entry is the stand-in, with data of its own.
        cloud = {"x-backend": "cf-d1", "x-backend-location": "cloud"}
        in_cloud = httpx.post(f"{gateway}/tasks", json={"title": "cloud only"}, headers=cloud)
        assert in_cloud.status_code == 201, in_cloud.text
        assert in_cloud.headers["x-backend-location"] == "cloud"
        cloud_ids = {t["id"] for t in httpx.get(f"{gateway}/tasks", headers=cloud).json()["tasks"]}
        local_ids = {t["id"] for t in httpx.get(f"{gateway}/tasks", headers={"x-backend": "cf-d1"}).json()["tasks"]}
        assert in_cloud.json()["id"] in cloud_ids and in_cloud.json()["id"] not in local_ids
        assert created["cf-d1"]["id"] in local_ids and created["cf-d1"]["id"] not in cloud_ids
        assert httpx.get(f"{gateway}/tasks", headers={"x-backend": "nope"}).status_code == 400
    finally:
        status = first.stop(grace_s=60)
    assert status == 0, out.read_text()
    for port in ports.values():
        assert not _listening(port), f"port {port} still open after python -m devstack exited"

    out2 = tmp_path / "run_stack.2.out"
    second = _stack(ports, data_dir, out2)
    try:
        for backend, task in created.items():
            response = httpx.get(f"{gateway}/tasks/{task['id']}", headers={"x-backend": backend})
            assert response.status_code == 200, (backend, response.text)
            assert response.json() == task
    finally:
        assert second.stop(grace_s=60) == 0, out2.read_text()
