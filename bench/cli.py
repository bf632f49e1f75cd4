"""The gateway benchmark suite: our CPython twin against its peers, on 127.0.0.1 only.

    bench/run.sh [--quick] [--rounds N] [--duration S] [--configs a,b,...] [--skip-scale] ...
    (bench/run.sh installs what is missing, then runs `python -m bench`)

Phases (each bounded in time; everything started is stopped at the end, also on Ctrl-C):

1. throughput/latency: wrk at concurrency 1 and 32 against each configuration (PEERS), in
   alternating rounds (A B C …, A B C …) after a warm-up —
     direct    wrk → nginx upstream (fixed ~200-byte JSON, keep-alive)
     nginx     nginx proxy_pass with a keep-alive upstream pool
     aiohttp   minimal aiohttp reverse proxy, one shared ClientSession, streaming
     workerd   pass-through JavaScript Worker in `workerd serve` (generated capnp config)
     uvicorn   minimal uvicorn + httpx ASGI proxy
     twin      `python -m local_runner` with every feature on (CORS allow-list, API_KEY,
               JSON logs to a file, request ids, cached health)
   recording req/s, p50/p99 and the CPU each process tree used (utime+stime from /proc),
   plus upstream hits per client request (nginx stub_status).
2. scale: twin p50 at concurrency 1 with 2, 1,000 and 10,000 registered backends.
3. streaming: 1 GiB up and 1 GiB down through direct, the aiohttp proxy and the twin,
   against a sink/source aiohttp upstream; throughput and peak RSS growth.
4. Pyodide: `node harness/pyodide/bench.mjs`; its JSON is included.
5. workerd: ONE workerd (harness/workerd/launch.mjs, the Workers of bench/workerd/workers.py), each on
   its own socket: the JS pass-through, a minimal Python pass-through (`js.fetch` of the
   request), the least header-editing Python gateway written by hand
   (bench/workerd/minimal_gateway.py), the gateway in local mode and in cloud mode (backend in
   KV); wrk at c1 and c32 in
   alternating rounds; req/s, p50/p99 and the workerd process's CPU µs per request, as ratios
   to the Python pass-through. Plus cold start (process start to each Worker's first answer)
   and the gateway's import time on workerd.

Prints a table of medians (min–max) with ratios to direct, PASS/FAIL lines for the
targets, and writes everything to bench/results/run-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from bench.common import GiB, install_signal_handlers
from bench.peers import PEERS, Peer, twin
from bench.report import Report
from bench.suite import Suite


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The suite's settings, with --quick's or the full run's defaults filled in."""
    ap = argparse.ArgumentParser(
        prog="bench/run.sh", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smoke run, ~3 minutes: 3 rounds × 2s, 1s warm-up")
    ap.add_argument("--rounds", type=int, help="alternating rounds (default 5; --quick 3)")
    ap.add_argument("--duration", type=float, help="seconds per measured wrk run (default 10; --quick 2)")
    ap.add_argument(
        "--warmup", type=float, help="seconds of warm-up per configuration and concurrency (default 3; --quick 1)"
    )
    ap.add_argument("--configs", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--concurrency", default="1,32")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--upstream-workers", type=int, default=1, help="nginx worker processes of the upstream")
    ap.add_argument("--proxy-workers", type=int, default=1, help="nginx worker processes of the nginx proxy")
    ap.add_argument("--scale-backends", default="2,1000,10000")
    ap.add_argument("--stream-bytes", type=int, default=GiB)
    ap.add_argument("--stream-timeout", type=float, default=180)
    ap.add_argument("--health-ttl", type=int, default=5, help="HEALTH_TTL_S given to the twin")
    ap.add_argument(
        "--twin-env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for the twin"
    )
    ap.add_argument(
        "--max-noise",
        type=float,
        default=25.0,
        help="repeat a run when other processes used more than this %% of a core during it",
    )
    ap.add_argument("--noise-retries", type=int, default=1)
    ap.add_argument(
        "--quiet-threshold",
        type=float,
        default=20.0,
        help="before each measured run, wait until the idle machine uses less than this %% of a core",
    )
    ap.add_argument("--quiet-wait", type=float, default=20.0, help="longest wait for quiet before one run (s)")
    ap.add_argument(
        "--quiet-budget", type=float, help="total waiting allowed per suite run (s; default 300, --quick 60)"
    )
    ap.add_argument("--start-timeout", type=float, default=30)
    ap.add_argument("--pyodide-timeout", type=float, default=600)
    ap.add_argument(
        "--twin-variant",
        action="append",
        default=[],
        metavar="twin-vNAME=DIR",
        help="also load the twin of another checkout (e.g. a `git worktree` of main) in the same rounds",
    )
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-stream", action="store_true")
    ap.add_argument("--skip-pyodide", action="store_true")
    ap.add_argument("--skip-workerd", action="store_true")
    ap.add_argument("--workerd-start-timeout", type=float, default=120)
    ap.add_argument(
        "--workerd-variant",
        action="append",
        default=[],
        metavar="NAME=COMMIT|SRC_DIR",
        help="also run the gateway of COMMIT's src/ (or a src/ tree) as gw-local-NAME in the workerd phase",
    )
    ap.add_argument(
        "--workerd-workers",
        metavar="NAME,...",
        help="only these Workers of the workerd phase (default: all but pieces)",
    )
    ap.add_argument(
        "--workerd-header-variants",
        type=lambda v: [n for n in v.split(",") if n],
        default=["py-onfetch", "gw-local"],
        metavar="NAME,...",
        help="Workers also measured with 30 extra request and 30 extra response headers"
        " (default py-onfetch,gw-local; name a variant as gw-local-NAME)",
    )
    ap.add_argument("--keep-workdir", action="store_true", help="keep the temporary folder with every server's logs")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    ap.add_argument("--report", type=Path, metavar="RESULTS_JSON", help="only re-print the report of a saved run")
    ap.add_argument("--output", type=Path, help="JSON results path (default bench/results/run-<time>.json)")
    a = ap.parse_args(argv)
    quick = {"rounds": 3, "duration": 2.0, "warmup": 1.0}
    full = {"rounds": 5, "duration": 10.0, "warmup": 3.0}
    for k, v in (quick if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.quiet_budget is None:
        a.quiet_budget = 60.0 if a.quick else 300.0
    if a.quick and a.pyodide_timeout == 600:
        a.pyodide_timeout = 180
    a.configs = [c for c in a.configs.split(",") if c]
    for variant in a.twin_variant:
        # Another tree's twin beside this one, in the same rounds (before/after of a change).
        name, _, tree = variant.partition("=")
        if not name.startswith("twin-v") or not tree or not (Path(tree) / "local_runner").is_dir():
            raise SystemExit(f"--twin-variant {variant!r}: want twin-vNAME=DIR, DIR holding local_runner/ and src/")
        PEERS[name] = Peer(f"twin {name[6:]} ({tree})", functools.partial(twin, tree=Path(tree).resolve()))
        if name not in a.configs:
            a.configs.append(name)
    a.concurrency = [int(c) for c in a.concurrency.split(",")]
    a.scale_backends = [int(c) for c in a.scale_backends.split(",")]
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        # Re-print the tables and targets of a saved run without running anything.
        results = json.loads(args.report.read_text())
        Report(results, argparse.Namespace(**results["settings"])).print()
        return 0
    install_signal_handlers()
    return Suite(args).run()
