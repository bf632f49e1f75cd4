"""What /proc says about processes and the machine: trees, CPU seconds, RSS, and a quiet-machine gate."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, as they are now."""
    kids = _children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def process_name(pid: int) -> str:
    """The command name of ``pid`` (/proc/<pid>/comm); "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_seconds(pids: Iterable[int]) -> float:
    """utime+stime (seconds) summed over the given pids, from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLK_TCK


def machine_busy_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


def machine_busy_pct(window: float = 0.5) -> float:
    """Percent of one core the whole machine used over `window` seconds."""
    b0 = machine_busy_seconds()
    time.sleep(window)
    return (machine_busy_seconds() - b0) / window * 100


class QuietGate:
    """Waits, within a time budget, until other work on the machine has died down.

    Other sessions and test suites share these 2 cores; a measurement taken while
    they run says more about them than about the server under test.
    """

    def __init__(self, threshold_pct: float, max_wait_s: float, budget_s: float) -> None:
        self.threshold = threshold_pct
        self.max_wait = max_wait_s
        self.budget = budget_s
        self.waited = 0.0

    def wait(self) -> float:
        """Wait for quiet (bounded by the per-run wait and the budget left); returns the last busy %."""
        t0 = time.monotonic()
        busy = machine_busy_pct(0.3)
        while (
            busy > self.threshold
            and self.waited + (time.monotonic() - t0) < self.budget
            and time.monotonic() - t0 < self.max_wait
        ):
            busy = machine_busy_pct(0.5)
        self.waited += time.monotonic() - t0
        return busy


def status_kib(pid: int, key: str) -> int:
    """A kiB field of /proc/<pid>/status (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples VmRSS (summed over a process tree) every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pids = process_tree(pid)
        self.interval = interval
        self.peak_kib = 0
        self.samples = 0
        self._halt = threading.Event()

    def rss_now(self) -> int:
        return sum(status_kib(p, "VmRSS") for p in self.pids)

    def hwm_now(self) -> int:
        return sum(status_kib(p, "VmHWM") for p in self.pids)

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_kib = max(self.peak_kib, self.rss_now())
            self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(2)
