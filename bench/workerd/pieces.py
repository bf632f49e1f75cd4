"""The workerd CPU cost of single pieces of a Python Worker's per-request work.

Starts one workerd with the ``pieces`` Worker (bench/workerd/pieces_worker.py, the gateway's
modules bundled beside it) and an nginx upstream, then asks it, round after round, to run each
named piece ``-n`` times inside one request, reading the workerd process's CPU time (utime +
stime from /proc) around each request. Prints, per piece, the median and the minimum over the
rounds in µs per repetition. Rounds interleave the pieces, so a slow phase of the machine or
of the isolate (V8's tiering, garbage collection) falls on all of them; even so, single rounds
of one piece spread ±15–30 %: compare medians of several rounds, and pieces of one run only.

    .venv/bin/python -m bench.workerd.pieces                    # every piece
    .venv/bin/python -m bench.workerd.pieces passthrough,minimal,serve -n 1500 --rounds 6

Pieces that fetch (``passthrough``, ``minimal``, ``upstream_fetch``, ``serve``) go to the
nginx upstream one at a time; ``*_stub`` ones answer from Python instead.
"""

from __future__ import annotations

import argparse
import statistics
import urllib.error
import urllib.request

from bench.common import log
from bench.procfs import cpu_seconds
from bench.request import API_KEY, ORIGIN, REQUEST_HEADERS
from bench.workerd.workers import PIECES, with_upstream

ALL = (
    "noop,python_work,await_js_promise,js_global_read,js_headers_get,console_log,os_urandom,"
    "asyncio_timeout,js_timer_cleared,headers_read_to_py,headers_built_by_sets,headers_built_to_js,"
    "headers_built_json,response_init_record,response_init_pairs,request_view,js_response,"
    "handle_stub,serve_stub,passthrough,minimal,upstream_fetch,serve"
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pieces", nargs="?", default=ALL, help="comma-separated piece names (default: all)")
    ap.add_argument("-n", type=int, default=2000, help="repetitions per request")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    names = args.pieces.split(",")

    settings = {"CORS_ALLOW_ORIGINS": ORIGIN, "API_KEY": API_KEY, "HEALTH_TTL_S": "3600"}
    with with_upstream("wdpieces", settings, only=[PIECES]) as (urls, pid):
        base = urls[PIECES]

        def run(piece: str, n: int) -> float:
            request = urllib.request.Request(f"{base}/?piece={piece}&n={n}", headers=REQUEST_HEADERS)
            before = cpu_seconds([pid])
            try:
                with urllib.request.urlopen(request, timeout=600) as response:
                    answer = response.read().decode()
            except urllib.error.HTTPError as failed:
                answer = failed.read().decode()
            if answer.strip() != f"{piece} {n}":
                raise SystemExit(f"piece {piece}: {answer.strip()}")
            return (cpu_seconds([pid]) - before) / n * 1e6

        for piece in names:  # warm-up: imports, the gateway's first build, V8's tiering
            run(piece, max(1, args.n // 10))
        per_piece: dict[str, list[float]] = {piece: [] for piece in names}
        for round_ in range(args.rounds):
            for piece in names:
                per_piece[piece].append(run(piece, args.n))
            log(f"round {round_ + 1}/{args.rounds} done")
        print(f"\nworkerd CPU µs per repetition ({args.n} per request, {args.rounds} rounds)")
        print(f"  {'piece':<24} {'median':>8} {'min':>8}  rounds")
        for piece, values in per_piece.items():
            rounds = " ".join(f"{v:.0f}" for v in values)
            print(f"  {piece:<24} {statistics.median(values):8.1f} {min(values):8.1f}  {rounds}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
