"""The supervisor of ``--workers N``: the workers value, restarts with back-off, start-up failures.

The workers here are tiny Python processes, so each behaviour is seen
without a gateway; tests/hardening/test_workers.py runs the real twin.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from local_runner.supervisor import SUPERVISOR_PID, Supervisor, parse_workers
from tests.support.processes import ROOT


@pytest.mark.parametrize(("text", "count"), [("1", 1), ("3", 3), ("256", 256), (" 2 ", 2)])
def test_workers_value_is_a_count(text, count):
    assert parse_workers(text) == count


@pytest.mark.parametrize("text", ["auto", "AUTO", " auto"])
def test_workers_auto_is_one_per_cpu(text):
    assert parse_workers(text) == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("text", ["0", "-1", "257", "two", "", "1.5"])
def test_a_bad_workers_value_is_refused_with_what_was_given(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_workers(text)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def stop_after(seconds: float) -> threading.Timer:
    """SIGTERM to this process (the supervisor under test runs on the main thread) after ``seconds``."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    return timer


def test_a_worker_that_keeps_dying_is_restarted_with_a_doubling_delay(tmp_path):
    said: list[str] = []
    supervisor = Supervisor(1, lambda _i: python("raise SystemExit(3)"), dict(os.environ), tmp_path, 1.0, said.append)
    stop_after(2.5)
    status = supervisor.run()

    delays = [float(m) for line in said for m in re.findall(r"restarting in ([\d.]+) s", line)]
    assert status == 0
    assert delays[:3] == [0.25, 0.5, 1.0]
    assert len(delays) < 6  # not a spin: without the back-off this would be hundreds
    assert all("exited with status 3" in line for line in said if "restarting" in line)


def test_a_worker_start_up_failure_stops_the_others_with_status_2(tmp_path):
    argv = {1: python("raise SystemExit(2)"), 2: python("import time; time.sleep(60)")}
    said: list[str] = []
    supervisor = Supervisor(2, argv.__getitem__, dict(os.environ), tmp_path, 10.0, said.append)
    timer = stop_after(30)  # only a safety net: the failure must end the run long before
    try:
        status = supervisor.run()
    finally:
        timer.cancel()

    assert status == 2
    assert any("could not start" in line for line in said)
    assert not any("restarting" in line for line in said)


def test_stop_signal_reaches_every_worker_and_a_clean_drain_is_status_0(tmp_path):
    # Each worker exits 0 on SIGTERM, as the twin's workers do after draining.
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); time.sleep(60)"
    said: list[str] = []
    supervisor = Supervisor(3, lambda _i: python(code), dict(os.environ), tmp_path, 10.0, said.append)
    stop_after(1.0)
    status = supervisor.run()

    assert status == 0
    assert not any("restarting" in line for line in said)
    assert said[-1] == "gateway stopped"


def run_worker_start(tmp_path, recorded_parent: int) -> subprocess.CompletedProcess[str]:
    (tmp_path / SUPERVISOR_PID).write_text(str(recorded_parent))
    code = f"from pathlib import Path; from local_runner.supervisor import die_with_parent; die_with_parent(Path({str(tmp_path)!r})); print('alive')"
    return subprocess.run(python(code), capture_output=True, text=True, timeout=30, cwd=ROOT)


def test_a_worker_of_a_live_supervisor_keeps_running(tmp_path):
    # This test process is the child's parent, as the supervisor is a worker's (it may even be PID 1).
    result = run_worker_start(tmp_path, os.getpid())
    assert (result.returncode, result.stdout) == (0, "alive\n")


def test_a_worker_whose_supervisor_is_already_gone_stops(tmp_path):
    result = run_worker_start(
        tmp_path, os.getpid() + 10**6
    )  # not its parent: the supervisor died and it was re-parented
    assert result.returncode == -signal.SIGTERM


def test_a_worker_that_outlives_the_grace_period_is_killed_and_the_exit_is_unclean(tmp_path):
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    )
    said: list[str] = []
    supervisor = Supervisor(1, lambda _i: python(code), dict(os.environ), tmp_path, 0.2, said.append, kill_margin_s=0.2)
    stop_after(2.0)  # after the worker has started ignoring SIGTERM
    status = supervisor.run()

    assert status == 1
    assert any("SIGKILL" in line for line in said)
