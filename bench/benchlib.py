"""Bench-only machinery for the benchmark scripts: nginx, wrk, /proc sampling.

Starting, waiting for and stopping processes is devstack.process's job; this
module only builds what the suite needs on top. Everything binds to 127.0.0.1
and every wait is bounded. Nothing in this module is used by the gateway itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import services
from devstack.process import NODE_BIN, Service, free_port

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WRK_LUA = BENCH_DIR / "wrk_report.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

# ~200 bytes of JSON: what a small API answer looks like. Served by nginx from
# memory (`return 200`), so the upstream costs almost nothing per request.
UPSTREAM_BODY = json.dumps(
    {
        "id": "7f3c2a9e-5b1d-4c8e-9a2f-0d6b4e8c1a73",
        "status": "ok",
        "items": [{"n": i, "name": f"item-{i}"} for i in range(4)],
        "ts": "2026-01-01T00:00:00Z",
        "pad": "x" * 32,
    },
    separators=(",", ":"),
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP end the run like Ctrl-C does, so `finally` blocks stop every service."""

    def _handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGHUP, _handler)


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --------------------------------------------------------------------------- /proc


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


# --------------------------------------------------------------------------- nginx


def nginx_bin() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


NGINX_COMMON = """\
daemon off;
master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
  client_body_temp_path {dir}/client_body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  server_tokens off;
{body}
}}
"""

#: Header-count variants of the workerd phase: how many extra fields each way, their names and
#: values (about the size of real ones), and the upstream path that answers with them.
EXTRA_HEADER_COUNT = 30
EXTRA_HEADERS = {
    f"x-bench-extra-{i:02d}": f"value-{i:02d}-0123456789abcdef0123456789" for i in range(EXTRA_HEADER_COUNT)
}
MANY_HEADERS_PREFIX = "/many-headers"

UPSTREAM_SERVER = """\
  server {{
    listen {host}:{port} backlog=4096;
    location = /__stats {{ stub_status; }}
    location {many_prefix}/ {{
      default_type application/json;
{many_headers}
      return 200 '{payload}';
    }}
    location / {{
      default_type application/json;
      return 200 '{payload}';
    }}
  }}
"""

PROXY_SERVER = """\
  upstream backend {{ server {upstream}; keepalive 128; }}
  server {{
    listen {host}:{port} backlog=4096;
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
"""


def nginx(name: str, workdir: Path, body: str, workers: int, health_url: str) -> Service:
    """nginx with its own config, pid and temp folders under ``workdir/name`` (never the system's)."""
    d = workdir / name
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "nginx.conf"
    conf.write_text(NGINX_COMMON.format(workers=workers, dir=d, body=body))
    argv = [nginx_bin(), "-p", str(d), "-e", str(d / "error.log"), "-c", str(conf)]
    return Service(name, argv, log_path=d / "stdout.log", health_url=health_url)


def upstream_nginx(workdir: Path, port: int, workers: int = 1) -> Service:
    payload = UPSTREAM_BODY.replace("'", "\\'")
    many = "\n".join(f"      add_header {name} {value};" for name, value in EXTRA_HEADERS.items())
    body = UPSTREAM_SERVER.format(
        host=HOST, port=port, payload=payload, many_prefix=MANY_HEADERS_PREFIX, many_headers=many
    )
    return nginx("upstream-nginx", workdir, body, workers, f"http://{HOST}:{port}/")


def workerd_workers_argv(config: Path, upstream: str, settings: dict[str, str], state: Path, *extra: str) -> list[str]:
    """The command that starts the workerd phase's Workers (``workerd/workers.mjs``) in one workerd."""
    return [
        str(NODE_BIN / "node"),
        str(BENCH_DIR / "workerd" / "workers.mjs"),
        "--config",
        str(config),
        "--upstream",
        upstream,
        "--settings",
        json.dumps(settings),
        "--kv-persist",
        str(state),
        *extra,
    ]


@contextlib.contextmanager
def workerd_with_upstream(prefix: str, settings: dict[str, str], *extra: str) -> Iterator[tuple[dict[str, str], int]]:
    """An nginx upstream and one workerd with ``workerd/workers.mjs``'s Workers (``extra`` are
    its options), for the phase-5 tools; yields ({Worker: base URL}, the workerd pid) and stops both."""
    work = make_workdir(prefix)
    up_port = free_port()
    upstream = upstream_nginx(work, up_port)
    upstream.start()
    try:
        upstream.wait_healthy(15)
        overlay = services.workerd_overlay(work / "wrangler.dev.json")
        argv = workerd_workers_argv(overlay, f"http://{HOST}:{up_port}", settings, work / "state", *extra)
        svc = Service(prefix, argv, log_path=work / "workerd.log", env=services.workerd_env())
        svc.start()
        try:
            svc.wait_for_output("READY", 300)
            line = next(ln for ln in svc.output().splitlines() if ln.startswith("READY "))
            urls = dict(item.split("=", 1) for item in line.split()[1:])
            pid = next((p for p in process_tree(svc.pid) if process_name(p) == "workerd"), svc.pid)
            yield urls, pid
        finally:
            svc.stop()
    finally:
        upstream.stop()


def upstream_request_count(port: int) -> int:
    """Total requests nginx has served (stub_status), including this one."""
    _, body = http_get(f"http://{HOST}:{port}/__stats")
    # "Active connections: 1 \nserver accepts handled requests\n 5 5 12 \n..."
    return int(body.decode().splitlines()[2].split()[2])


# --------------------------------------------------------------------------- wrk


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
    cpu_of: dict[str, Sequence[int]] | None = None,
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
        upstream_hits=(hits1 - hits0 - 1) if hits0 is not None else None,
    )


# --------------------------------------------------------------------------- statistics


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def fmt_range(xs: Sequence[float], fmt: str = "{:.0f}") -> str:
    if not xs:
        return "-"
    return f"{fmt.format(median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def make_workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
