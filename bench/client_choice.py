"""Which outbound HTTP client should the CPython gateway use?

Runs the same minimal aiohttp-server reverse proxy (bench/proxies/aiohttp_proxy.py)
with different outbound clients side by side, against an nginx upstream that
returns a fixed ~200-byte JSON body over keep-alive, and loads each with wrk at
concurrency 1 and 32. Rounds alternate between clients (A B C D, A B C D, ...)
after a warm-up, so drift on the shared 2-core machine hits every client alike.

    .venv/bin/python bench/client_choice.py [--rounds 5] [--duration 10] [--json out.json]

Prints req/s, p50 and p99 (median of rounds, min–max), proxy CPU per request,
and ratios to the aiohttp client.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import benchlib as bl

CLIENTS = ["httpx", "httpx-default", "httpx-aiohttp", "aiohttp"]
LABELS = {
    "httpx": "httpx.AsyncClient (httpcore transport)",
    "httpx-default": "httpx.AsyncClient() default limits",
    "httpx-aiohttp": "httpx + httpx-aiohttp transport",
    "aiohttp": "aiohttp.ClientSession",
}
PATH = "/v1/items?limit=4"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per measured wrk run")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per client and concurrency")
    ap.add_argument("--concurrency", default="1,32")
    ap.add_argument("--clients", default=",".join(CLIENTS))
    ap.add_argument("--quiet-threshold", type=float, default=20.0,
                    help="before each run, wait until the idle machine uses less than this %% of a core")
    ap.add_argument("--quiet-budget", type=float, default=300.0, help="total waiting for quiet allowed (s)")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args()
    clients = args.clients.split(",")
    concs = [int(c) for c in args.concurrency.split(",")]

    bl.install_signal_handlers()
    work = bl.make_workdir("bench-client-choice-")
    results: dict[str, dict[int, list[bl.WrkResult]]] = {c: {n: [] for n in concs} for c in clients}
    try:
        up_port = bl.free_port()
        upstream = bl.start_upstream_nginx(work, up_port)
        ok, why = bl.wait_http(f"http://{bl.HOST}:{up_port}/", proc=upstream, timeout=10)
        if not ok:
            print(f"upstream nginx did not start: {why}\n{upstream.stderr_tail()}")
            return 1
        procs: dict[str, tuple[bl.Proc, int]] = {}
        for c in clients:
            port = bl.free_port()
            p = bl.Proc(f"proxy-{c}", [bl.VENV_PY, str(bl.BENCH_DIR / "proxies" / "aiohttp_proxy.py"),
                                       "--port", str(port), "--upstream", f"http://{bl.HOST}:{up_port}",
                                       "--client", c], work)
            ok, why = bl.wait_http(f"http://{bl.HOST}:{port}{PATH}", proc=p, timeout=20)
            if not ok:
                print(f"proxy with client {c} did not start: {why}\n{p.stderr_tail()}")
                return 1
            procs[c] = (p, port)

        gate = bl.QuietGate(args.quiet_threshold, 20.0, args.quiet_budget)

        def run(c: str, n: int, duration: float) -> bl.WrkResult:
            p, port = procs[c]
            gate.wait()
            return bl.run_wrk(f"http://{bl.HOST}:{port}{PATH}", connections=n, duration=duration,
                              cpu_of={"proxy": bl.process_tree(p.pid), "upstream": bl.process_tree(upstream.pid)})

        bl.log(f"warm-up: {args.warmup:.0f}s per client and concurrency")
        for n in concs:
            for c in clients:
                run(c, n, args.warmup)
        for r in range(1, args.rounds + 1):
            for n in concs:
                for c in clients:
                    res = run(c, n, args.duration)
                    results[c][n].append(res)
                    bl.log(f"round {r} c{n:<3} {c:<14} {res.rps:9.0f} req/s  p50 {res.p50_us:6.0f} µs  "
                           f"p99 {res.p99_us:6.0f} µs  other CPU {res.cpu_s['other'] / res.duration_s * 100:3.0f}%  errors {res.error_count}")
    finally:
        bl.stop_all()
        shutil.rmtree(work, ignore_errors=True)

    print()
    print(f"Outbound client comparison — {args.rounds} alternating rounds × {args.duration:.0f}s, "
          f"median (min–max); ratios are medians relative to aiohttp.ClientSession")
    ref = "aiohttp" if "aiohttp" in clients else clients[-1]
    summary: dict = {"rounds": args.rounds, "duration_s": args.duration, "quiet_wait_s": round(gate.waited, 1),
                     "clients": {}}
    print(f"(waited {gate.waited:.0f}s in total for other work on the machine to die down; "
          f"'other CPU' is what the rest of the machine used during the runs, in % of a core)")
    for n in concs:
        print(f"\nconcurrency {n}")
        print(f"{'client':<40} {'req/s':>22} {'p50 µs':>18} {'p99 µs':>20} {'proxy CPU µs/req':>17} {'other CPU':>9} {'req/s ratio':>11} {'p50 ratio':>9}")
        ref_rps = bl.median([x.rps for x in results[ref][n]])
        ref_p50 = bl.median([x.p50_us for x in results[ref][n]])
        for c in clients:
            rs = results[c][n]
            rps = [x.rps for x in rs]
            p50 = [x.p50_us for x in rs]
            p99 = [x.p99_us for x in rs]
            cpu = [x.cpu_s["proxy"] / x.requests * 1e6 for x in rs]
            other = [x.cpu_s["other"] / x.duration_s * 100 for x in rs]
            print(f"{LABELS[c]:<40} {bl.fmt_range(rps):>22} {bl.fmt_range(p50):>18} {bl.fmt_range(p99):>20} "
                  f"{bl.median(cpu):>17.0f} {bl.median(other):>8.0f}% {bl.median(rps) / ref_rps:>10.2f}× {bl.median(p50) / ref_p50:>8.2f}×")
            summary["clients"].setdefault(c, {})[str(n)] = {
                "rps": rps, "p50_us": p50, "other_cpu_pct": other, "p99_us": p99, "proxy_cpu_us_per_req": cpu,
                "errors": [x.error_count for x in rs],
                "rps_median": bl.median(rps), "p50_median_us": bl.median(p50),
                "rps_ratio_to_aiohttp": bl.median(rps) / ref_rps,
                "p50_ratio_to_aiohttp": bl.median(p50) / ref_p50,
            }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2))
        print(f"\nraw results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
