"""The supervisor of ``--workers N``: the workers value, restarts with back-off, start-up failures.

The workers here are tiny Python processes, so each behaviour is seen
without a gateway; tests/hardening/test_workers.py runs the real twin.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from local_runner.supervisor import SUPERVISOR_PID, parse_workers
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


#: Runs a Supervisor in its own process: it takes over SIGTERM and SIGCHLD, which must not be pytest's,
#: and a test stops it with a signal once the event it waits for was said, never after a fixed time.
SUPERVISE = """
import json, os, sys
from pathlib import Path
from local_runner.supervisor import Supervisor
argv, options = json.loads(sys.argv[1]), json.loads(sys.argv[2])
say = lambda text: os.write(1, (text + "\\n").encode())  # one write a line: the workers share the pipe
supervisor = Supervisor(len(argv), lambda i: argv[str(i)], dict(os.environ), Path(sys.argv[3]), say=say, **options)
sys.exit(supervisor.run())
"""

#: Every wait here is for an event; this bound only ends a test whose event never comes.
DEADLINE_S = 60.0


class Supervised:
    """A supervisor process over ``argv`` (worker index → argv); its lines and its workers' output, as they come."""

    def __init__(self, tmp_path, argv: dict[int, list[str]], **options: float) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [*python(SUPERVISE), json.dumps(argv), json.dumps(options), str(tmp_path)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate, what: str) -> None:
        """Until ``predicate(lines)`` holds; fails with what was said if it does not within the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        while not predicate(list(self.lines)):
            if time.monotonic() > deadline or (self.process.poll() is not None and not self._reader.is_alive()):
                pytest.fail(f"never saw {what}; the supervisor said: {self.lines}")
            time.sleep(0.02)

    def stop(self) -> int:
        """SIGTERM to the supervisor (as from a terminal or a container runtime); its exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.exit_status()

    def exit_status(self) -> int:
        try:
            status = self.process.wait(DEADLINE_S)
        finally:
            self.process.kill()
        self._reader.join(DEADLINE_S)
        return status


def ready_then(setup: str) -> str:
    """A worker that runs ``setup`` (its signal handling), says ``ready`` in one write, then waits."""
    return f"import os, signal, sys, time; {setup}; os.write(1, b'ready\\n'); time.sleep(60)"


def restarts(lines: list[str]) -> list[float]:
    return [float(m) for line in lines for m in re.findall(r"restarting in ([\d.]+) s", line)]


def test_a_worker_that_keeps_dying_is_restarted_with_a_doubling_delay(tmp_path):
    run = Supervised(tmp_path, {1: python("raise SystemExit(3)")}, grace_s=1.0)
    run.wait_for(lambda lines: len(restarts(lines)) >= 3, "three restarts")
    status = run.stop()

    delays = restarts(run.lines)
    assert status == 0
    # Every restart waited its turn of the series (a stop that comes late may see a fourth, never a spin).
    assert delays == [0.25, 0.5, 1.0, 2.0, 4.0][: len(delays)] and len(delays) >= 3
    assert all("exited with status 3" in line for line in run.lines if "restarting" in line)


def test_a_worker_start_up_failure_stops_the_others_with_status_2(tmp_path):
    argv = {1: python("raise SystemExit(2)"), 2: python("import time; time.sleep(60)")}
    run = Supervised(tmp_path, argv, grace_s=10.0)
    status = run.exit_status()  # no signal: the failure ends the run by itself

    assert status == 2
    assert any("could not start" in line for line in run.lines)
    assert not any("restarting" in line for line in run.lines)


def test_stop_signal_reaches_every_worker_and_a_clean_drain_is_status_0(tmp_path):
    # Each worker exits 0 on SIGTERM, as the twin's workers do after draining; it says when it can.
    code = ready_then("signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))")
    run = Supervised(tmp_path, {i: python(code) for i in (1, 2, 3)}, grace_s=10.0)
    run.wait_for(lambda lines: lines.count("ready") == 3, "three workers ready")
    status = run.stop()

    assert status == 0
    assert not any("restarting" in line for line in run.lines)
    assert run.lines[-1] == "gateway stopped"


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
    code = ready_then("signal.signal(signal.SIGTERM, signal.SIG_IGN)")
    run = Supervised(tmp_path, {1: python(code)}, grace_s=0.2, kill_margin_s=0.2)
    run.wait_for(lambda lines: "ready" in lines, "the worker ignoring SIGTERM")
    status = run.stop()

    assert status == 1
    assert any("SIGKILL" in line for line in run.lines)
