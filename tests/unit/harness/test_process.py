"""harness.process for real: a process group started, waited for and stopped; its errors quote the log."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from harness.process import NODE_BIN, Service, ServiceError, free_port, run_logged, start_healthy, tool_env

DEADLINE_S = 10


def _python(log_dir: Path, code: str, **kw: object) -> Service:
    return Service("toy", [sys.executable, "-c", code], log_path=log_dir / "toy.log", **kw)  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _gone_within(pid: int, deadline_s: float) -> bool:
    deadline = time.monotonic() + deadline_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_free_port_is_one_a_server_can_bind() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_tool_env_puts_node_modules_bin_first_on_path() -> None:
    assert tool_env()["PATH"].split(os.pathsep)[0] == str(NODE_BIN)


def test_a_clean_tool_env_keeps_none_of_the_callers_other_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TEST_SECRET", "leak")
    env = tool_env({"GIVEN": "1"}, inherit=False)
    assert "HARNESS_TEST_SECRET" not in env
    assert env["GIVEN"] == "1"


def test_stop_takes_down_what_the_service_spawned(tmp_path: Path) -> None:
    child_pid_file = tmp_path / "child.pid"
    # The shell ignores SIGTERM's default (it waits); the child is what must not outlive the stop.
    argv = ["sh", "-c", f"sleep 300 & echo $! > {child_pid_file}; wait"]
    service = Service("spawner", argv, log_path=tmp_path / "spawner.log").start()
    service.wait_until(child_pid_file.exists, timeout_s=DEADLINE_S, what="writing the child's pid")
    service.wait_until(lambda: child_pid_file.read_text().strip() != "", timeout_s=DEADLINE_S, what="a pid")
    child = int(child_pid_file.read_text())
    assert _alive(child)
    service.stop(grace_s=5)
    assert _gone_within(child, DEADLINE_S), f"child {child} outlived the service's stop"


def test_stop_kills_a_service_that_ignores_the_stop_signal(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ignoring', flush=True); time.sleep(300)"
    service = _python(tmp_path, code).start()
    service.wait_for_output("ignoring", timeout_s=DEADLINE_S)
    assert service.stop(grace_s=0.5) == -signal.SIGKILL


def test_stop_returns_the_exit_status_of_a_clean_shutdown(tmp_path: Path) -> None:
    service = _python(tmp_path, "import time; print('up', flush=True); time.sleep(300)").start()
    service.wait_for_output("up", timeout_s=DEADLINE_S)
    assert service.stop() == -signal.SIGTERM


def test_waiting_for_health_fails_at_once_when_the_service_exits_quoting_its_log(tmp_path: Path) -> None:
    service = _python(
        tmp_path, "print('boom-marker'); raise SystemExit(3)", health_url=f"http://127.0.0.1:{free_port()}/"
    )
    service.start()
    with pytest.raises(ServiceError, match=r"(?s)exited with status 3 before healthy.*boom-marker"):
        service.wait_healthy(timeout_s=60)
    service.stop()


def test_waiting_for_health_fails_at_the_deadline(tmp_path: Path) -> None:
    service = _python(tmp_path, "import time; time.sleep(300)", health_url=f"http://127.0.0.1:{free_port()}/")
    service.start()
    try:
        with pytest.raises(ServiceError, match=r"was not healthy at .* within 0\.5s"):
            service.wait_healthy(timeout_s=0.5)
    finally:
        service.stop()


def test_start_healthy_stops_a_service_that_never_became_healthy(tmp_path: Path) -> None:
    service = _python(tmp_path, "import time; time.sleep(300)", health_url=f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(ServiceError):
        start_healthy(service, timeout_s=0.5)
    assert not service.running()


def test_start_healthy_returns_once_the_health_url_answers_200(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    service = Service("http.server", argv, log_path=tmp_path / "server.log", health_url=f"http://127.0.0.1:{port}/")
    with start_healthy(service, timeout_s=DEADLINE_S):
        assert service.is_healthy()


def test_a_command_that_cannot_run_is_a_service_error_naming_the_service(tmp_path: Path) -> None:
    service = Service("ghost", [str(tmp_path / "no-such-program")], log_path=tmp_path / "ghost.log")
    with pytest.raises(ServiceError, match="ghost: cannot run"):
        service.start()


def test_run_logged_appends_output_and_raises_naming_the_step(tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    argv = [sys.executable, "-c", "print('out-marker'); raise SystemExit(2)"]
    with pytest.raises(ServiceError, match=r"(?s)migrate failed \(status 2\).*out-marker"):
        run_logged("migrate", argv, log, env=tool_env(), timeout_s=DEADLINE_S)
    assert "out-marker" in log.read_text()
