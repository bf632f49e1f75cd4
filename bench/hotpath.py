"""What ``--workers N`` adds to each request: shared rate limiter and multiprocess metrics.

    .venv/bin/python -m bench.hotpath [--calls 200000] [--rounds 5]

Prints, side by side, the µs per call of

* the rate limiter: the in-process ``TokenBucketLimiter`` against the shared
  ``SharedTokenBucketLimiter`` (mmap table + flock), one key and 10,000 keys;
* the metrics of one request (``started`` + ``finished``): prometheus-client's
  in-memory registry against its multiprocess mode (mmap files).

prometheus-client picks its value class when it is imported, so each metrics
mode is measured in a fresh interpreter (this module calling itself); the
rounds alternate the two modes. Medians (min–max) over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import ROOT


def limiter_us(kind: str, calls: int, keys: int) -> float:
    from gateway.runtime import SystemClock
    from local_runner.rate_limit import SharedTokenBucketLimiter, TokenBucketLimiter

    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "memory":
            limiter: TokenBucketLimiter | SharedTokenBucketLimiter = TokenBucketLimiter(10**9, 60, clock)
        else:
            table = os.path.join(tmp, "rate_limit.bin")
            SharedTokenBucketLimiter.create(table)
            limiter = SharedTokenBucketLimiter(table, 10**9, 60, clock)
        names = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(keys)]

        async def run() -> float:
            allow = limiter.allow
            started = time.perf_counter()
            for i in range(calls):
                await allow(names[i % keys])
            return time.perf_counter() - started

        return asyncio.run(run()) / calls * 1e6


def metrics_us(calls: int) -> float:
    """One request's metrics in whatever mode this interpreter's environment selects."""
    from gateway.logs import RequestLog
    from local_runner.metrics import new_metrics

    metrics = new_metrics()
    line = RequestLog.start(0.0, "rid", "GET", "/tasks")
    line.status, line.outcome, line.routed = 200, "proxied", True
    line.backend, line.location, line.upstream_ms, line.duration_ms = "app", "local", 1.2, 1.5
    started = time.perf_counter()
    for _ in range(calls):
        metrics.started()
        metrics.finished(line)
    elapsed = time.perf_counter() - started
    metrics.exposition([("app", "local", True)])  # the scrape works in this mode
    return elapsed / calls * 1e6


def metrics_in_child(mode: str, calls: int) -> float:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "multiprocess":
            env["PROMETHEUS_MULTIPROC_DIR"] = tmp
        out = subprocess.run(
            [sys.executable, "-m", "bench.hotpath", "--child-metrics", str(calls)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
    return float(json.loads(out.stdout)["us"])


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hotpath", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child-metrics", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_metrics:
        print(json.dumps({"us": metrics_us(args.child_metrics)}))
        return 0

    rows: dict[str, list[float]] = {}
    for _ in range(args.rounds):  # alternate, so machine load hits every row alike
        for keys in (1, 10_000):
            for kind in ("memory", "shared"):
                rows.setdefault(f"rate limiter, {kind}, {keys} key(s)", []).append(limiter_us(kind, args.calls, keys))
        for mode in ("memory", "multiprocess"):
            rows.setdefault(f"metrics per request, {mode}", []).append(metrics_in_child(mode, args.calls))

    width = max(map(len, rows))
    print(f"µs per call, medians (min–max) of {args.rounds} alternating rounds × {args.calls:,} calls")
    for name, xs in rows.items():
        print(f"  {name:<{width}}  {fmt(xs)}")
    pairs = [
        ("rate limiter, shared, 1 key(s)", "rate limiter, memory, 1 key(s)"),
        ("rate limiter, shared, 10000 key(s)", "rate limiter, memory, 10000 key(s)"),
        ("metrics per request, multiprocess", "metrics per request, memory"),
    ]
    for new, old in pairs:
        extra = statistics.median(rows[new]) - statistics.median(rows[old])
        ratio = statistics.median(rows[new]) / statistics.median(rows[old])
        print(f"  {new}: ×{ratio:.1f} of the one-process figure, {extra:+.2f} µs per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
