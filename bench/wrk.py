"""One wrk run, with the CPU each process tree used during it and the upstream hits it caused."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.common import BENCH_DIR
from bench.nginx import upstream_request_count
from bench.procfs import cpu_seconds, machine_busy_seconds

#: Prints wrk's summary as one JSON line (requests, latency percentiles, errors).
WRK_LUA = BENCH_DIR / "wrk_report.lua"


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_us: float
    p90_us: float
    p99_us: float
    mean_us: float
    errors: dict[str, int]
    cpu_s: dict[str, float] = field(default_factory=dict)  # per process group, incl. "wrk"
    upstream_hits: int | None = None

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def run_wrk(
    url: str,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    cpu_of: Mapping[str, Sequence[int]] | None = None,
    upstream_stats_port: int | None = None,
) -> WrkResult:
    """One wrk run; also measures the CPU each named process tree used during it."""
    threads = max(1, min(threads, connections))
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "-s",
        str(WRK_LUA),
    ]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    cpu_of = cpu_of or {}
    hits0 = upstream_request_count(upstream_stats_port) if upstream_stats_port else None
    before = {k: cpu_seconds(p) for k, p in cpu_of.items()}
    busy0 = machine_busy_seconds()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + duration + 30
    rusage = None
    while time.monotonic() < deadline:
        pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.02)
    else:
        p.kill()
        p.wait()
        raise RuntimeError(f"wrk did not finish: {' '.join(argv)}")
    after = {k: cpu_seconds(p_) for k, p_ in cpu_of.items()}
    busy1 = machine_busy_seconds()
    hits1 = upstream_request_count(upstream_stats_port) if upstream_stats_port else None
    assert p.stdout is not None and p.stderr is not None and rusage is not None
    out = p.stdout.read().decode(errors="replace")
    err = p.stderr.read().decode(errors="replace")
    line = next((ln for ln in out.splitlines() if ln.startswith('{"requests"')), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({p.returncode}): {err.strip() or out.strip()}")
    d = json.loads(line)
    cpu = {k: after[k] - before[k] for k in cpu_of}
    cpu["wrk"] = rusage.ru_utime + rusage.ru_stime
    # Whatever else ran on the machine meanwhile (other sessions, test suites, the kernel).
    cpu["other"] = max(0.0, (busy1 - busy0) - sum(cpu.values()))
    dur = d["duration_us"] / 1e6
    return WrkResult(
        requests=d["requests"],
        duration_s=dur,
        rps=d["requests"] / dur,
        p50_us=d["p50"],
        p90_us=d["p90"],
        p99_us=d["p99"],
        mean_us=d["mean"],
        errors={k: d[k] for k in ("connect", "read", "write", "status", "timeout")},
        cpu_s=cpu,
        # The two stub_status reads themselves count; take them off.
        upstream_hits=(hits1 - hits0 - 1) if hits0 is not None and hits1 is not None else None,
    )
