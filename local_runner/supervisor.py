"""``python -m local_runner --workers N``: one supervisor, N worker processes on one port.

    supervisor (this module; no event loop, no gateway)
     ├─ worker 1: python -m local_runner … --worker-state DIR   (the one-process twin,
     ├─ worker 2: …                                               listening with SO_REUSEPORT)
     └─ …

The supervisor prepares what the workers share, in a private directory it
deletes when it exits (:class:`SharedState`): the rate-limit table, a SQLite
file through which health results are shared when the twin has no
``--kv-path`` of its own, and prometheus-client's multiprocess directory.
Then it starts the workers and watches them:

* a worker that dies is started again, after a back-off that doubles while
  it keeps dying young (``RESTART_DELAYS_S``), so a crash loop does not spin;
* a worker that exits with status 2 hit a start-up error no restart can fix
  (the port is taken, the KV is missing): everything stops, status 2;
* SIGTERM or SIGINT: every worker gets SIGTERM and drains as the
  one-process twin does (stops accepting, finishes in-flight requests within
  its grace period); the supervisor exits 0 once all have exited cleanly.

docs/design.md ("Every core") says why each worker has its own listening
socket and what is shared how.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from prometheus_client import multiprocess

from .kv import SqliteKV
from .rate_limit import SharedTokenBucketLimiter

#: Waits before restarting a worker that died young: 0.25 s, doubling to 30 s.
RESTART_DELAYS_S = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
#: A worker that lived this long is healthy again: its next death restarts at the first delay.
STABLE_AFTER_S = 30.0
#: Beyond a worker's own grace period, how long the supervisor waits before SIGKILL.
KILL_MARGIN_S = 5.0
#: A worker's exit status for a start-up failure (bad setting, port taken): restarting cannot help.
STARTUP_FAILURE = 2
#: In the shared directory: the supervisor's pid, for workers to recognise their parent.
SUPERVISOR_PID = "supervisor.pid"
#: How long a worker waits for a SQLite lock another worker holds (a KV write takes microseconds).
WORKER_KV_BUSY_S = 0.01
#: prctl(2) option: the kernel signals the child when its parent dies.
_PR_SET_PDEATHSIG = 1


def usable_cpus() -> int:
    """The CPUs this process may run on: ``os.cpu_count()`` unless an affinity mask or a cpuset narrows it."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def parse_workers(value: str) -> int:
    """``N`` (1..256) or ``auto`` (one per usable CPU); ValueError with a usage message otherwise."""
    text = value.strip().lower()
    if text == "auto":
        return usable_cpus()
    if text.isdigit() and 1 <= int(text) <= 256:
        return int(text)
    raise ValueError(f"expected a whole number of workers from 1 to 256, or 'auto'; got {value!r}")


@dataclass
class SharedState:
    """The private directory of one supervised twin and what it holds.

    ``rate_table``: the shared token buckets (only when a rate limit is set).
    ``health_kv``: a SQLite KV the workers share health results through,
    when the twin has no ``--kv-path`` (the gateway shares them through
    whatever KV its platform has; it never learns this one is private).
    ``metrics_dir``: ``PROMETHEUS_MULTIPROC_DIR`` for every worker.
    """

    root: Path
    rate_table: Path | None
    health_kv: Path | None
    metrics_dir: Path

    @classmethod
    def create(cls, *, rate_limited: bool, kv_path: str | None, local: bool) -> SharedState:
        root = Path(tempfile.mkdtemp(prefix="gateway-workers-"))
        (root / SUPERVISOR_PID).write_text(str(os.getpid()))
        (root / "metrics").mkdir()
        if rate_limited:
            SharedTokenBucketLimiter.create(str(root / "rate_limit.bin"))
        # A cloud twin without --kv-path must keep failing at start (no registry), so only local mode gets one.
        health_kv = root / "health.sqlite" if kv_path is None and local else None
        for path in (health_kv, kv_path):
            if path is not None:
                # Create the table and switch to WAL once, before N workers open it at the same moment.
                SqliteKV(str(path), busy_timeout_s=5.0).close()
        return cls.of(root)

    @classmethod
    def of(cls, root: Path) -> SharedState:
        """In a worker: what the supervisor prepared in ``root``."""
        rate_table, health_kv = root / "rate_limit.bin", root / "health.sqlite"
        return cls(
            root,
            rate_table if rate_table.exists() else None,
            health_kv if health_kv.exists() else None,
            root / "metrics",
        )

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def die_with_parent(state_dir: Path) -> None:
    """In a worker: ask the kernel for SIGTERM when the supervisor dies (Linux), so no worker outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    # The supervisor may have died before the call above. Compared with its
    # recorded pid, not with 1: in a container without an init it *is* PID 1.
    with contextlib.suppress(OSError, ValueError):
        if os.getppid() != int((state_dir / SUPERVISOR_PID).read_text()):
            os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class Slot:
    """One worker position: its current process and its crash history."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    young_deaths: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Starts ``count`` workers from ``argv_for(index)``, restarts the dead ones, drains them all on a signal."""

    count: int
    argv_for: Callable[[int], Sequence[str]]
    env: Mapping[str, str]
    metrics_dir: Path
    grace_s: float
    say: Callable[[str], None] = field(default=lambda text: print(f"local_runner: {text}", file=sys.stderr, flush=True))
    #: Beyond ``grace_s``, how long a draining worker may take before SIGKILL.
    kill_margin_s: float = KILL_MARGIN_S
    slots: list[Slot] = field(default_factory=list)
    stopping: bool = False
    _stop_requested: bool = False
    _kill_at: float | None = None

    def run(self) -> int:
        """Supervise until a stop signal drains every worker; the exit status."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        previous_fd = signal.set_wakeup_fd(wake_w)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)}
        try:
            self.slots = [Slot(i) for i in range(1, self.count + 1)]
            for slot in self.slots:
                self._start(slot)
            pids = ", ".join(str(slot.process.pid) for slot in self.slots if slot.process is not None)
            self.say(f"supervising {self.count} workers (pids {pids})")
            status = self._loop(wake_r)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(previous_fd)
            os.close(wake_r)
            os.close(wake_w)
        self.say("gateway stopped")
        return status

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # Only a note: the loop acts on it (a handler runs between any two bytecodes of the loop).
        if signum in (signal.SIGTERM, signal.SIGINT):
            self._stop_requested = True

    def _begin_stop(self) -> None:
        self.stopping = True
        self._kill_at = time.monotonic() + self.grace_s + self.kill_margin_s
        for slot in self.slots:
            slot.restart_at = None  # a dead worker stays dead now
            if slot.process is not None:
                with contextlib.suppress(ProcessLookupError):
                    slot.process.send_signal(signal.SIGTERM)

    def _loop(self, wake_r: int) -> int:
        unclean = False
        status = 0
        while True:
            if self._stop_requested and not self.stopping:
                self._begin_stop()
            for slot in self.slots:
                code = slot.process.poll() if slot.process is not None else None
                if slot.process is None or code is None:
                    continue
                pid, slot.process = slot.process.pid, None
                self._forget(pid)
                if self.stopping:
                    # Killed by the stop signal itself: it was still starting (no handler yet), so nothing was lost.
                    unclean = unclean or code not in (0, -signal.SIGTERM, -signal.SIGINT)
                elif code == STARTUP_FAILURE:
                    self.say(f"worker {slot.index} (pid {pid}) could not start; stopping")
                    status = STARTUP_FAILURE
                    self._begin_stop()
                else:
                    self._schedule_restart(slot, pid, code)
            if self.stopping:
                if not self._live():
                    return status or (1 if unclean else 0)
                if self._kill_at is not None and time.monotonic() > self._kill_at:
                    self.say("workers still running after the grace period: SIGKILL")
                    for slot in self._live():
                        assert slot.process is not None
                        slot.process.kill()
                    self._kill_at = None
                    unclean = True
            else:
                now = time.monotonic()
                for slot in self.slots:
                    if slot.restart_at is not None and now >= slot.restart_at:
                        self._start(slot)
            self._wait(wake_r)

    def _forget(self, pid: int) -> None:
        """A worker exited: its live gauges (in flight, answers per worker) leave the sums."""
        multiprocess.mark_process_dead(pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]

    def _schedule_restart(self, slot: Slot, pid: int, code: int) -> None:
        now = time.monotonic()
        slot.young_deaths = 0 if now - slot.started_at >= STABLE_AFTER_S else slot.young_deaths + 1
        delay = RESTART_DELAYS_S[min(max(slot.young_deaths - 1, 0), len(RESTART_DELAYS_S) - 1)]
        slot.restart_at = now + delay
        how = f"signal {-code}" if code < 0 else f"status {code}"
        self.say(f"worker {slot.index} (pid {pid}) exited with {how}; restarting in {delay:g} s")

    def _start(self, slot: Slot) -> None:
        slot.restart_at = None
        slot.started_at = time.monotonic()
        slot.process = subprocess.Popen(list(self.argv_for(slot.index)), env=dict(self.env), stdin=subprocess.DEVNULL)

    def _live(self) -> list[Slot]:
        return [slot for slot in self.slots if slot.process is not None]

    def _wait(self, wake_r: int) -> None:
        """Sleep until a signal arrives (SIGCHLD included) or the next restart or kill is due."""
        now = time.monotonic()
        due = [s.restart_at for s in self.slots if s.restart_at is not None]
        if self._kill_at is not None:
            due.append(self._kill_at)
        timeout = max(0.0, min(due) - now) if due else 1.0
        with contextlib.suppress(InterruptedError):
            select.select([wake_r], [], [], min(timeout, 1.0))
        with contextlib.suppress(BlockingIOError):
            while os.read(wake_r, 512):
                pass
