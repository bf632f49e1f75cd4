"""Where does the twin spend its CPU? Loads it with wrk and samples it with py-spy.

    .venv/bin/python -m bench.profile_twin [--duration 15] [--connections 32] [--rate 500]

Starts the nginx upstream and the twin with every feature on (as the suite
does), runs wrk against it while `py-spy record --format raw` samples the twin,
then prints the hottest functions by self time and by inclusive time, and keeps
the collapsed stacks (and a flame graph SVG) under bench/results/.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.cli import parse_args
from bench.common import RESULTS, ROOT, install_signal_handlers
from bench.peers import PEERS
from bench.procfs import process_tree
from bench.suite import Suite
from bench.wrk import run_wrk

# py-spy prints paths relative to sys.path entries: "handle (gateway/app.py:63)".
OWN = ("(gateway/", "(local_runner/", "/src/gateway/", "/local_runner/")


def summarise(raw: Path, top: int) -> str:
    """Self time, inclusive time and the gateway file each sample belongs to.

    Coroutines resumed by the event loop show up as stacks rooted at the
    coroutine itself, so inclusive figures under-count; self time is exact."""
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    files: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        count = int(n)
        total += count
        frames = stack.split(";")
        self_t[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
        # Attribute the sample to the innermost frame of the project's own code, if any.
        own = next((f for f in reversed(frames) if any(m in f for m in OWN)), None)
        if own is None:
            where = "(no gateway frame: aiohttp/asyncio/uvloop resumed directly)"
        elif own is frames[-1]:
            where = own.rsplit("(", 1)[-1].rsplit(":", 1)[0] + " (own code)"
        else:
            where = own.rsplit("(", 1)[-1].rsplit(":", 1)[0] + " → libraries"
        files[where] += count
    out = [f"{total} samples"]
    out.append(f"\nby self time (top {top}):")
    out += [f"  {c / total * 100:5.1f}%  {f}" for f, c in self_t.most_common(top)]
    out.append(f"\nby inclusive time (top {top}):")
    out += [f"  {c / total * 100:5.1f}%  {f}" for f, c in incl.most_common(top)]
    out.append("\ninnermost gateway file on the stack (own code = the sample is in that file itself):")
    out += [f"  {c / total * 100:5.1f}%  {f}" for f, c in files.most_common(top)]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench.profile_twin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--native", action="store_true", help="include native (C) frames")
    ap.add_argument(
        "--target",
        choices=["twin", "aiohttp"],
        default="twin",
        help="profile the twin (default) or the minimal aiohttp proxy for comparison",
    )
    args = ap.parse_args()
    py_spy = ROOT / ".venv" / "bin" / "py-spy"
    if not py_spy.exists():
        print("py-spy missing: run bench/setup.sh")
        return 1
    install_signal_handlers()
    s = Suite(parse_args(["--quick"]))
    out_dir = RESULTS
    out_dir.mkdir(exist_ok=True)
    raw = out_dir / f"{args.target}-profile-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    try:
        s.start_upstream()
        srv = s.launch(args.target, PEERS[args.target].launch, s.upstream_url)
        if srv.available:
            s.check(srv)
        if not srv.available:
            print(f"{args.target} unavailable: {srv.reason}")
            return 1
        assert srv.service is not None  # both targets run a process of their own
        run_wrk(srv.url, connections=args.connections, duration=3, headers=srv.headers)  # warm-up
        spy_argv = [
            str(py_spy),
            "record",
            "--pid",
            str(srv.service.pid),
            "--rate",
            str(args.rate),
            "--duration",
            str(args.duration),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ]
        if args.native:
            spy_argv.append("--native")
        spy = subprocess.Popen(spy_argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        res = run_wrk(
            srv.url,
            connections=args.connections,
            duration=args.duration,
            headers=srv.headers,
            cpu_of={"server": process_tree(srv.service.pid)},
        )
        try:
            _, err = spy.communicate(timeout=args.duration + 30)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, err = spy.communicate()
        print(
            f"{args.target}, wrk c{args.connections}: {res.rps:.0f} req/s, p50 {res.p50_us:.0f} µs, "
            f"server CPU {res.cpu_s['server'] / res.requests * 1e6:.0f} µs/request, other CPU "
            f"{res.cpu_s['other'] / res.duration_s * 100:.0f}% of a core"
        )
        if not raw.exists():
            print(f"py-spy wrote nothing: {err.decode(errors='replace')[-1000:]}")
            return 1
        print(summarise(raw, args.top))
        print(f"\ncollapsed stacks: {raw}  (flamegraph.pl or speedscope can draw them)")
    finally:
        s.stop_all()
        shutil.rmtree(s.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
