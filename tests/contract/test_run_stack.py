"""scripts/run_stack.py for real: start, serve through the gateway, Ctrl-C, restart with the data intact."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import REPO, free_port

DEADLINE_S = 120


def _start(ports: dict[str, int], data_dir: Path, out: Path) -> subprocess.Popen[bytes]:
    argv = [
        sys.executable, "scripts/run_stack.py",
        "--gateway-port", str(ports["gateway"]),
        "--bun-port", str(ports["bun"]),
        "--d1-port", str(ports["d1"]),
        "--data-dir", str(data_dir),
        "--grace", "5",
    ]  # fmt: skip
    return subprocess.Popen(argv, cwd=REPO, stdout=out.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(process: subprocess.Popen[bytes], out: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while "all healthy" not in out.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            _kill(process)
            pytest.fail(f"run_stack.py did not come up:\n{out.read_text(errors='replace')}", pytrace=False)
        time.sleep(0.3)


def _interrupt(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    finally:
        _kill(process)


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_run_stack_serves_both_backends_stops_on_sigint_and_keeps_data(tmp_path):
    ports = {"gateway": free_port(), "bun": free_port(), "d1": free_port()}
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    out = tmp_path / "run_stack.out"

    first = _start(ports, tmp_path / "data", out)
    _wait_ready(first, out)
    try:
        banner = out.read_text()
        assert gateway in banner
        assert "x-backend: cf-d1" in banner and "x-backend: bun-sqlite" in banner
        created = {}
        for backend in ("bun-sqlite", "cf-d1"):
            response = httpx.post(f"{gateway}/tasks", json={"title": f"keep {backend}"}, headers={"x-backend": backend})
            assert response.status_code == 201, response.text
            created[backend] = response.json()
        assert httpx.get(f"{gateway}/tasks", headers={"x-backend": "nope"}).status_code == 400
    finally:
        status = _interrupt(first)
    assert status == 0, out.read_text()
    for port in ports.values():
        assert not _listening(port), f"port {port} still open after run_stack.py exited"

    out2 = tmp_path / "run_stack.2.out"
    second = _start(ports, tmp_path / "data", out2)
    _wait_ready(second, out2)
    try:
        for backend, task in created.items():
            response = httpx.get(f"{gateway}/tasks/{task['id']}", headers={"x-backend": backend})
            assert response.status_code == 200, (backend, response.text)
            assert response.json() == task
    finally:
        assert _interrupt(second) == 0, out2.read_text()
