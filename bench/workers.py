"""The twin with 1 worker against 2 (``--workers``), side by side, on this machine.

    .venv/bin/python -m bench.workers [--rounds 3] [--duration 8] [--warmup 3] [--connections 32]

Both twins run as the suite (``python -m bench``) runs its twin (every feature on: CORS
allow-list, API key, JSON log file, cached health; ``--workers 2`` adds the
shared rate-limit table only when a limit is set, so none is here) in front of
the suite's nginx upstream (``bench/setup.sh`` installs nginx and wrk). wrk
drives each in alternating rounds (1, 2, 1, 2, …) after a warm-up; per round:
req/s, p50/p99, and the CPU each process tree used (utime+stime from /proc:
the twin's supervisor and workers together, the upstream, wrk, and the rest
of the machine) per request. Prints medians (min–max) and the ratios 2 : 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from bench import peers
from bench.common import HOST, install_signal_handlers, log, make_workdir
from bench.nginx import upstream_nginx
from bench.procfs import process_tree
from bench.request import PATH, REQUEST_HEADERS
from bench.stats import fmt_range
from bench.wrk import WrkResult, run_wrk
from harness.process import Service, free_port, start_healthy


def twin(work: Path, port: int, upstream: str, workers: int) -> Service:
    """The suite's twin (its settings, one backend), with ``--workers``."""
    service = peers.twin(peers.Launch(work, health_ttl=30), f"twin-{workers}", port, upstream)
    service.argv = [*service.argv, "--workers", str(workers)]
    return service


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.workers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    install_signal_handlers()
    work = make_workdir("bench-workers-")
    up_port = free_port()
    upstream = upstream_nginx(work, up_port)
    started: list[Service] = []
    try:
        start_healthy(upstream, 15)
        started.append(upstream)
        twins: dict[int, tuple[Service, str]] = {}
        for workers in (1, 2):
            port = free_port()
            service = start_healthy(twin(work, port, f"http://{HOST}:{up_port}", workers), 30)
            started.append(service)
            twins[workers] = (service, f"http://{HOST}:{port}{PATH}")
        rows: dict[int, list[WrkResult]] = {1: [], 2: []}
        for workers, (_service, url) in twins.items():
            log(f"warm-up: {workers} worker(s)")
            run_wrk(url, connections=args.connections, duration=args.warmup, headers=REQUEST_HEADERS)
        for round_no in range(args.rounds):
            for workers, (service, url) in twins.items():
                cpu_of = {"twin": process_tree(service.pid), "upstream": process_tree(upstream.pid)}
                result = run_wrk(
                    url,
                    connections=args.connections,
                    duration=args.duration,
                    headers=REQUEST_HEADERS,
                    cpu_of=cpu_of,
                )
                if result.error_count:
                    log(f"round {round_no + 1}, {workers} worker(s): errors {result.errors}")
                rows[workers].append(result)
                log(f"round {round_no + 1}, {workers} worker(s): {result.rps:,.0f} req/s")
        report(rows, args)
    finally:
        for service in reversed(started):
            service.stop()
    return 0


def report(rows: dict[int, list[WrkResult]], args: argparse.Namespace) -> None:
    def per_request_us(result: WrkResult, group: str) -> float:
        return result.cpu_s.get(group, 0.0) / max(1, result.requests) * 1e6

    columns: dict[str, Callable[[WrkResult], float]] = {
        "req/s": lambda r: r.rps,
        "p50 ms": lambda r: r.p50_us / 1000,
        "p99 ms": lambda r: r.p99_us / 1000,
        "twin CPU µs/req": lambda r: per_request_us(r, "twin"),
        "upstream µs/req": lambda r: per_request_us(r, "upstream"),
        "wrk µs/req": lambda r: per_request_us(r, "wrk"),
        "other µs/req": lambda r: per_request_us(r, "other"),
    }
    print(
        f"\nwrk -t1 -c{args.connections}, {args.rounds} alternating rounds × {args.duration:g} s after "
        f"{args.warmup:g} s warm-up; medians (min–max); {os.cpu_count()} CPUs"
    )
    print("| workers | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    medians: dict[int, dict[str, float]] = {}
    for workers, results in rows.items():
        cells = []
        for name, get in columns.items():
            xs = [get(r) for r in results]
            medians.setdefault(workers, {})[name] = statistics.median(xs)
            fmt = "{:,.0f}" if name in ("req/s",) or "µs" in name else "{:.2f}"
            cells.append(fmt_range(xs, fmt))
        print(f"| {workers} | " + " | ".join(cells) + " |")
    ratios = ", ".join(f"{name} ×{medians[2][name] / medians[1][name]:.2f}" for name in columns if medians[1][name])
    print(f"2 workers : 1 — {ratios}")


if __name__ == "__main__":
    sys.exit(main())
