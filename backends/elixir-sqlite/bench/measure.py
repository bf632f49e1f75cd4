"""HTTP layer measurement: server CPU per request and latency of each bench/variants.exs front.

    .venv/bin/python backends/elixir-sqlite/bench/measure.py [--seconds 5] [--concurrency 8]
        [--tasks 500] [--profiles read-heavy,write-heavy] [--variants mochiweb,inets,gen_tcp]

Every variant is the same Gtd.Router and Gtd.Store behind a different HTTP
server (mochiweb: the backend as shipped; inets: OTP's httpd; gen_tcp: a
minimal hand-written loop). Each runs as its own node (``mix run --no-start``,
MIX_ENV=prod) on a fresh database, is seeded with ``--tasks`` tasks through the
API, then gets the GTD workload of make bench-backends (bench/backends/workload.py:
its profiles and operations) from ``--concurrency`` closed-loop clients, after a
1 s warm-up. "server CPU us/req" is the node's own CPU time (utime+stime from
/proc) per request completed: unlike req/s it holds up on a busy, shared
machine. RSS is the node's VmRSS after the run. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKEND = HERE.parent
REPO = BACKEND.parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the repo's bench and harness packages

import aiohttp  # noqa: E402

from bench.backends import workload  # noqa: E402
from harness.process import free_port  # noqa: E402

VARIANTS = ("mochiweb", "inets", "gen_tcp")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) if match else 0


def start(variant: str, port: int, data: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MIX_ENV": "prod",
        "VARIANT": variant,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"file:{data / 'gtd.db'}",
    }
    argv = ["mix", "run", "--no-start", "--no-halt", "bench/variants.exs"]
    log = open(data / "node.log", "wb")  # noqa: SIM115 - closed with the process
    node = subprocess.Popen(argv, cwd=BACKEND, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return node
        except OSError:
            time.sleep(0.2)
        if node.poll() is not None:
            break
    node.kill()
    raise SystemExit(f"{variant} did not start:\n{(data / 'node.log').read_text()[-2000:]}")


async def measure(variant: str, args: argparse.Namespace) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix=f"gtd-elixir-{variant}-") as tmp:
        port = free_port()
        node = start(variant, port, Path(tmp))
        base = f"http://127.0.0.1:{port}"
        try:
            async with aiohttp.ClientSession() as session:
                data = await workload.seed(session, base, {}, args.tasks)
            for profile in args.profiles:
                connector = aiohttp.TCPConnector(limit=args.concurrency)
                async with aiohttp.ClientSession(connector=connector) as session:
                    await workload.run_cell(
                        session, base, {}, data, profile, args.concurrency, 1.0, seed_value=1
                    )  # warm-up
                    cpu0 = cpu_seconds(node.pid)
                    run = await workload.run_cell(
                        session, base, {}, data, profile, args.concurrency, args.seconds, seed_value=2
                    )
                    cpu = cpu_seconds(node.pid) - cpu0
                latencies = sorted(x for sample in run.samples.values() for x in sample.latencies)
                errors = sum(sample.errors for sample in run.samples.values())
                count = len(latencies)
                rows.append(
                    {
                        "variant": variant,
                        "profile": profile,
                        "requests": count,
                        "req_s": round(count / args.seconds),
                        "p50_ms": round(latencies[count // 2] * 1000, 2) if count else 0.0,
                        "p99_ms": round(latencies[min(count - 1, int(count * 0.99))] * 1000, 2) if count else 0.0,
                        "cpu_us_req": round(cpu / count * 1e6) if count else 0,
                        "errors": errors,
                        "rss_mib": round(rss_kib(node.pid) / 1024, 1),
                    }
                )
        finally:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--profiles", default="read-heavy,write-heavy")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    args.profiles = args.profiles.split(",")
    subprocess.run(["mix", "compile"], cwd=BACKEND, env={**os.environ, "MIX_ENV": "prod"}, check=True)
    print("| variant | profile | requests | req/s | p50 ms | p99 ms | server CPU us/req | errors | RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for variant in args.variants.split(","):
        for row in asyncio.run(measure(variant, args)):
            print("| " + " | ".join(str(value) for value in row.values()) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
