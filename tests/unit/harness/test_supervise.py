"""harness.supervise for real: a launcher run over cheap services, killed and watched through services.json."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.process import Service, free_port, http_ok
from harness.supervise import ServiceUnit

TOY_STACK = Path(__file__).with_name("toy_stack.py")
DEADLINE_S = 60


def launch(data_dir: Path, *specs: str, stable_s: float = 60) -> Service:
    argv = [sys.executable, str(TOY_STACK), str(data_dir), *specs, "--stable-s", str(stable_s)]
    return Service("toy stack", argv, log_path=data_dir / "launcher.out").start()


def services(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The launcher's live state, by service name ({} before it is written)."""
    try:
        document = json.loads((data_dir / "run" / "services.json").read_text())
    except FileNotFoundError:
        return {}
    return {entry["name"]: entry for entry in document["services"]}


def wait_for(predicate: Callable[[], Any], what: str, launcher: Service) -> Any:
    """Poll until ``predicate()`` is truthy; fail with the launcher's output at the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not (result := predicate()):
        assert time.monotonic() < deadline, f"not {what} within {DEADLINE_S}s:\n{launcher.output()}"
        time.sleep(0.05)
    return result


def all_up(data_dir: Path, *names: str) -> dict[str, dict[str, Any]] | None:
    state = services(data_dir)
    return state if all(state.get(n, {}).get("state") == "up" for n in names) else None


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def ports() -> Iterator[tuple[int, int]]:
    yield free_port(), free_port()


def test_a_killed_service_is_restarted_with_a_new_pid_while_the_other_keeps_running(data_dir, ports):
    a, b = ports
    launcher = launch(data_dir, f"alpha:steady:{a}", f"beta:steady:{b}")
    try:
        before = wait_for(lambda: all_up(data_dir, "alpha", "beta"), "both up", launcher)
        os.kill(before["alpha"]["pid"], signal.SIGKILL)

        def alpha_back() -> dict[str, dict[str, Any]] | None:
            state = services(data_dir)
            # beta is looked at on every poll: it must stay up with the same pid throughout.
            assert state["beta"]["pid"] == before["beta"]["pid"] and state["beta"]["state"] == "up", state
            alpha = state["alpha"]
            back = alpha["state"] == "up" and alpha["restarts"] == 1
            return state if back else None

        after = wait_for(alpha_back, "alpha restarted", launcher)
        assert after["alpha"]["pid"] != before["alpha"]["pid"]
        assert http_ok(after["alpha"]["health_url"])
        out = launcher.output()
        assert "alpha exited with status -9; restarting in 0.5 s" in out
        assert re.search(r"alpha is healthy again after [0-9.]+ s down", out), out
    finally:
        assert launcher.stop() == 0, launcher.output()


def test_a_service_that_keeps_dying_young_is_restarted_with_growing_delays(data_dir, ports):
    a, b = ports
    launcher = launch(data_dir, f"steady:steady:{a}", f"flaky:flaky:{b}")
    try:
        wait_for(lambda: services(data_dir).get("flaky", {}).get("restarts", 0) >= 3, "3 restarts", launcher)
        delays = [
            float(d) for d in re.findall(r"flaky exited with status 3; restarting in ([0-9.]+) s", launcher.output())
        ]
        assert delays[:3] == [0.5, 1.0, 2.0], launcher.output()
        assert services(data_dir)["steady"]["restarts"] == 0
    finally:
        assert launcher.stop() == 0, launcher.output()


def test_the_delay_starts_again_after_a_service_stayed_up_long_enough(data_dir, ports):
    a, b = ports
    # stable_s=0: every exit comes after a long enough life, so no delay grows.
    launcher = launch(data_dir, f"steady:steady:{a}", f"flaky:flaky:{b}", stable_s=0)
    try:
        wait_for(lambda: services(data_dir).get("flaky", {}).get("restarts", 0) >= 3, "3 restarts", launcher)
        delays = set(re.findall(r"flaky exited with status 3; restarting in ([0-9.]+) s", launcher.output()))
        assert delays == {"0.5"}, launcher.output()
    finally:
        assert launcher.stop() == 0, launcher.output()


def test_a_service_that_cannot_start_the_first_time_stops_everything_with_status_1(data_dir, ports):
    a, b = ports
    launcher = launch(data_dir, f"alpha:steady:{a}", f"broken:broken:{b}")
    assert launcher.process is not None
    status = launcher.process.wait(timeout=DEADLINE_S)
    out = launcher.output()
    launcher.stop()
    assert status == 1, out
    assert "broken exited with status 3 before it was healthy" in out
    assert "stopped alpha" in out
    assert not listening(a)


def test_sigterm_stops_every_service_and_exits_0(data_dir, ports):
    a, b = ports
    launcher = launch(data_dir, f"alpha:steady:{a}", f"beta:steady:{b}")
    state = wait_for(lambda: all_up(data_dir, "alpha", "beta"), "both up", launcher)
    assert launcher.stop() == 0, launcher.output()  # Service.stop sends SIGTERM
    assert gone(state["alpha"]["pid"]) and gone(state["beta"]["pid"])
    assert not listening(a) and not listening(b)
    assert not (data_dir / "run" / "services.json").exists()


def occupy(port: int, data_dir: Path) -> Service:
    """Another process's HTTP server on ``port`` (it answers any health check with 200)."""
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(data_dir)]
    return Service("impostor", argv, log_path=data_dir / "impostor.log").start()


def test_a_service_whose_port_another_server_answers_on_is_not_started_and_the_launcher_exits_1(data_dir, ports):
    a, _ = ports
    impostor = occupy(a, data_dir)
    launcher: Service | None = None
    try:
        wait_for(lambda: listening(a), "the impostor listening", impostor)
        launcher = launch(data_dir, f"alpha:steady:{a}")
        assert launcher.process is not None
        status = launcher.process.wait(timeout=DEADLINE_S)
        out = launcher.output()
    finally:
        # Also when the launcher did not exit: it must not outlive the test (nor what it started).
        if launcher is not None:
            launcher.stop()
        impostor.stop()
    assert status == 1, out
    assert f"alpha: port {a} is already in use by another process" in out
    assert "alpha is healthy" not in out


def test_a_restart_waits_while_another_server_answers_on_the_port(data_dir, ports):
    a, _ = ports
    launcher = launch(data_dir, f"alpha:steady:{a}")
    assert launcher.process is not None
    try:
        before = wait_for(lambda: all_up(data_dir, "alpha"), "alpha up", launcher)
        # The launcher paused while alpha dies and another server takes its port.
        os.kill(launcher.process.pid, signal.SIGSTOP)
        try:
            os.kill(before["alpha"]["pid"], signal.SIGKILL)
            wait_for(lambda: not listening(a), "alpha's port free", launcher)
            impostor = occupy(a, data_dir / "logs")
            wait_for(lambda: listening(a), "the impostor listening", impostor)
        finally:
            os.kill(launcher.process.pid, signal.SIGCONT)
        try:
            refused = f"alpha could not start (alpha: port {a} is already in use by another process)"
            wait_for(lambda: refused in launcher.output(), "the restart refused", launcher)
            assert services(data_dir)["alpha"]["state"] != "up", launcher.output()
        finally:
            impostor.stop()
        after = wait_for(lambda: all_up(data_dir, "alpha"), "alpha back once the port is free", launcher)
        assert after["alpha"]["restarts"] >= 2 and after["alpha"]["pid"] != before["alpha"]["pid"]
        assert "alpha is healthy again" in launcher.output()
    finally:
        assert launcher.stop() == 0, launcher.output()


def test_a_unit_stopped_twice_signals_its_freed_process_group_once(tmp_path, monkeypatch):
    """A restart that cannot start stops the unit again: by then its old pid may be a stranger's group."""
    unit = ServiceUnit(Service("brief", [sys.executable, "-c", "pass"], log_path=tmp_path / "brief.log"))
    unit.start()
    process = unit.service.process
    assert process is not None
    process.wait(timeout=DEADLINE_S)
    signalled: list[int] = []
    monkeypatch.setattr(os, "killpg", lambda pgid, sig: signalled.append(pgid))
    assert unit.stop(grace_s=0) == 0
    assert unit.stop(grace_s=0) == 0
    assert signalled == [process.pid]
