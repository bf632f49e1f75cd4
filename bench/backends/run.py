"""`make bench-backends`: the GTD workload against every backend, directly and through the gateway.

    .venv/bin/python -m bench.backends            # full: 1k tasks, 2 rounds × 6 s per cell
    .venv/bin/python -m bench.backends --quick    # ~1–2 minutes: 200 tasks, 1 round × 0.8 s
    .venv/bin/python -m bench.backends --tasks 100000 --seed-concurrency 64

Starts bun-sqlite, cf-d1 (wrangler dev), ruby-sqlite, python-postgres (its
own PostgreSQL) and elixir-sqlite with the harness.services recipes, each on a
fresh database in a temporary folder, and the gateway twin in front of them; seeds each
backend with the same dataset through its API; then runs every cell
(profile × concurrency × backend × direct|gateway) for a fixed time, in
alternating rounds (the backend order rotates and direct/gateway swap
every round, so drift on this shared machine spreads over all of them).
Writes bench/results/backends.{json,md} and the charts
backends-throughput.{png,svg} and backends-latency.{png,svg} (see
docs/benchmarks.md). The load client is this process (asyncio + aiohttp);
its CPU share is recorded per cell so it can be seen not to be the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
from pathlib import Path
from typing import Any

import aiohttp
from tqdm import tqdm

from bench.backends import large, report, workload
from bench.backends.stack import BACKENDS, Stack, running_stack
from bench.common import RESULTS, drop_workdir, install_signal_handlers, log, make_workdir


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return {
        "platform": platform.platform(),
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "load_client": "this process: asyncio + aiohttp, closed loop, one connection per worker",
    }


async def bench(args: argparse.Namespace, stack: Stack) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        datasets: dict[str, workload.Dataset] = {}
        seed_started = time.perf_counter()
        seed_per_backend: dict[str, float] = {}
        with tqdm(total=args.tasks * len(stack.urls), desc="seed", unit="task", leave=False) as bar:
            for backend_id, url in stack.urls.items():
                started = time.perf_counter()
                datasets[backend_id] = await workload.seed(
                    session, url, {}, args.tasks, concurrency=args.seed_concurrency, progress=bar.update
                )
                seed_per_backend[backend_id] = round(time.perf_counter() - started, 2)
        seed_s = time.perf_counter() - seed_started
        log(f"seeded {args.tasks} tasks into {len(stack.urls)} backends in {seed_s:.1f} s: {seed_per_backend}")

        cells: dict[tuple[str, str, str, int], list[workload.CellRun]] = {}
        order = list(stack.urls)
        total = args.rounds * len(args.profiles) * len(args.concurrency) * len(order) * 2
        with tqdm(total=total, desc="cells", unit="cell") as bar:
            for round_index in range(args.rounds):
                rotation = order[round_index % len(order) :] + order[: round_index % len(order)]
                vias = ("direct", "gateway") if round_index % 2 == 0 else ("gateway", "direct")
                for profile in args.profiles:
                    for concurrency in args.concurrency:
                        for backend_id in rotation:
                            for via in vias:
                                bar.set_postfix_str(f"r{round_index + 1} {profile} c{concurrency} {backend_id} {via}")
                                base = stack.urls[backend_id] if via == "direct" else stack.gateway
                                headers = {} if via == "direct" else {"x-backend": backend_id}
                                # Fresh connections per cell, at most one per worker.
                                connector = aiohttp.TCPConnector(limit=concurrency)
                                async with aiohttp.ClientSession(connector=connector, timeout=timeout) as cell:
                                    run = await workload.run_cell(
                                        cell,
                                        base,
                                        headers,
                                        datasets[backend_id],
                                        profile,
                                        concurrency,
                                        args.duration,
                                        seed_value=round_index,
                                        warmup_s=args.warmup,
                                    )
                                cells.setdefault((profile, backend_id, via, concurrency), []).append(run)
                                bar.update(1)
    return {"seed_s": seed_s, "seed_per_backend_s": seed_per_backend, "cells": cells}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.backends", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 tasks, 1 round, 0.8 s per cell (~1–2 minutes)")
    parser.add_argument("--tasks", type=int, help="seeded tasks per backend (default 1000; --quick 200)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 2; --quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per cell (default 6; --quick 0.8)")
    parser.add_argument("--warmup", type=float, help="unrecorded seconds before each cell (default 1; --quick 0.2)")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated (default 1,8,32)")
    parser.add_argument("--profiles", default="read-heavy,write-heavy")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--seed-concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default bench/results)")
    parser.add_argument("--keep-workdir", action="store_true")
    parser.add_argument(
        "--large-tasks", type=int, default=10_000, help="tasks imported for the whole-system phase (0 skips it)"
    )
    parser.add_argument("--large-samples", type=int, help="samples per cell in that phase (default 30; --quick 10)")
    args = parser.parse_args(argv)
    args.tasks = args.tasks or (200 if args.quick else 1000)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.duration = args.duration or (0.8 if args.quick else 6.0)
    args.warmup = args.warmup if args.warmup is not None else (0.2 if args.quick else 1.0)
    args.large_samples = args.large_samples or (10 if args.quick else 30)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.profiles = [p.strip() for p in args.profiles.split(",")]
    for profile in args.profiles:
        if profile not in workload.PROFILES:
            parser.error(f"unknown profile {profile!r}")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    workdir = make_workdir("bench-backends-")
    workdir.chmod(0o711)  # PostgreSQL runs as its own account and must enter it
    started = time.time()
    try:
        with running_stack(args.backends, workdir) as stack:
            raw = asyncio.run(bench(args, stack))
            whole = (
                large.run(
                    stack.urls,
                    stack.gateway,
                    tasks=args.large_tasks,
                    rounds=args.rounds,
                    samples=args.large_samples,
                    heavy_samples=1 if args.quick else 3,
                    log=log,
                )
                if args.large_tasks
                else None
            )
        results = report.summarise(raw["cells"])
        document = {
            "kind": "bench-backends",
            "mode": "quick" if args.quick else "full",
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "wall_s": round(time.time() - started, 1),
            "machine": machine(),
            "settings": {
                "tasks": args.tasks,
                "projects": max(5, args.tasks // 100),
                "rounds": args.rounds,
                "duration_s": args.duration,
                "concurrency": args.concurrency,
                "profiles": {p: workload.PROFILES[p] for p in args.profiles},
                "backends": args.backends,
            },
            "seed_s": round(raw["seed_s"], 2),
            "seed_per_backend_s": raw["seed_per_backend_s"],
            **results,
            "large": whole,
        }
        paths = report.write(document, args.out)
        for path in paths:
            log(f"wrote {path}")
        print(report.markdown(document))
        if whole:
            print(large.markdown(whole))
    finally:
        drop_workdir(workdir, args.keep_workdir)
    return 0
