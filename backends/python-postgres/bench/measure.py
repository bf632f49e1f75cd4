"""Framework/driver measurement: req/s and RSS of GET /tasks for each bench/variants.py app.

    python bench/measure.py [--seconds 5] [--connections 32] [--rows 50] [--variants a,b]

Starts a private PostgreSQL (pgserver.PgServer.temporary), applies the real
migrations, inserts --rows tasks, then for each variant runs one uvicorn worker
(uvloop + httptools, access log off) and `wrk` against it (Debian: wrk) after a
1 s warm-up. Prints one line per variant; RSS is the worker's VmRSS after the run.
"server CPU us/req" is the worker's own CPU time (utime+stime) per request served:
unlike req/s it holds up on a busy machine.
"gtd_pg" is the real app; the other variants need fastapi and psycopg[binary] +
psycopg-pool installed too (they are not dependencies of the package).
Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT)]

import asyncpg  # noqa: E402

from gtd_pg.migrate import migrate  # noqa: E402
from pgserver import PgServer, free_port  # noqa: E402

# "gtd_pg" is the real app (python -m gtd_pg's ASGI app); the others are bench/variants.py.
VARIANTS = ["starlette-asyncpg", "fastapi-asyncpg", "starlette-psycopg", "fastapi-psycopg", "gtd_pg"]


async def seed(url: str, rows: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        await conn.execute("DELETE FROM tasks")
        await conn.executemany(
            "INSERT INTO tasks (id, title, notes, status, context, created_at, updated_at) "
            "VALUES (gen_random_uuid()::text, $1, $2, 'inbox', '@bench', $3, $3)",
            [
                (f"task {i}", "some notes" if i % 2 else None, f"2026-01-01T00:00:{i % 60:02d}.000Z")
                for i in range(rows)
            ],
        )
    finally:
        await conn.close()


def rss_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (the server's own CPU, whatever else the machine runs)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_variant(variant: str, url: str, seconds: int, connections: int) -> str:
    port = free_port()
    env = {**os.environ, "BENCH_VARIANT": variant, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    target = ["gtd_pg.app:create_app", "--factory"] if variant == "gtd_pg" else ["bench.variants:app"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            *target,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}/tasks"
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(base, timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{variant} did not start")
                time.sleep(0.1)
        idle = rss_kib(proc.pid)
        subprocess.run(["wrk", "-t2", f"-c{connections}", "-d1s", base], capture_output=True, check=True)
        cpu_before = cpu_seconds(proc.pid)
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", base],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cpu = cpu_seconds(proc.pid) - cpu_before
        requests = int(re.search(r"(\d+) requests in", out).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)
        p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        loaded = rss_kib(proc.pid)
        return (
            f"{variant:18s} {rps:6.0f} req/s  server CPU {cpu / requests * 1e6:5.0f} us/req "
            f"(= {requests / cpu:5.0f} req/s per core)  p50 {p50:>8s}  p99 {p99:>8s}  "
            f"RSS idle {idle / 1024:5.1f} MiB, after {loaded / 1024:5.1f} MiB"
            + (f"  NON-2XX {errors.group(1)}" if errors else "")
        )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with PgServer.temporary() as server:
        asyncio.run(seed(server.database_url, args.rows))
        print(
            f"GET /tasks ({args.rows} rows), wrk -t2 -c{args.connections} -d{args.seconds}s, 1 uvicorn worker, "
            f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
        )
        for _ in range(args.rounds):
            for variant in args.variants.split(","):
                print(run_variant(variant, server.database_url, args.seconds, args.connections), flush=True)


if __name__ == "__main__":
    main()
