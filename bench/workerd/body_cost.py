"""What the Worker's request-body pipe costs on workerd: this tree's gateway against another's.

    .venv/bin/python -m bench.workerd.body_cost --other /work/main/src [--rounds 3] [--duration 8]

One workerd (bench.workerd.workers) runs two gateways in local mode against one nginx
upstream: ``gw-local`` (this tree's src/) and ``gw-local-other`` (``--other``, another src/
tree). wrk alternates between them (A B, A B, …) for POST with a 1 KiB body and for GET (no
body), at concurrency 8; each run records req/s, p50 and the workerd process's CPU per request.
Prints medians and the ratio this/other per method. Only ratios of runs measured side by side
in one invocation mean anything on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from bench.common import http_get, log
from bench.nginx import upstream_nginx
from bench.procfs import cpu_seconds, machine_busy_pct, process_name, process_tree
from bench.stats import median
from bench.workerd.workers import launch, variant_name
from bench.wrk import WRK_LUA
from harness.process import Service, free_port, start_healthy

BODY = "x" * 1024
API_KEY = "bench-key-0123456789"


def wrk(url: str, method: str, connections: int, duration: float, script_dir: Path) -> dict[str, float]:
    """One wrk run with the bench's JSON report, for ``method`` (POST carries BODY)."""
    script = script_dir / f"{method}.lua"
    prelude = f'wrk.method = "{method}"\n' + (f'wrk.body = "{BODY}"\n' if method == "POST" else "")
    script.write_text(prelude + WRK_LUA.read_text())
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{round(duration)}s", "-s", str(script)]
    argv += ["-H", f"x-api-key: {API_KEY}", "-H", "content-type: text/plain", url + "/bench"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith('{"requests"'))
    d = json.loads(line)
    errors = sum(d[k] for k in ("connect", "read", "write", "status", "timeout"))
    return {
        "requests": d["requests"],
        "rps": d["requests"] / (d["duration_us"] / 1e6),
        "p50_us": d["p50"],
        "errors": errors,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--other", required=True, help="another src/ tree (e.g. /work/main/src)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--connections", type=int, default=8)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="body-cost-"))
    up_port = free_port()
    upstream = upstream_nginx(work, up_port, 1)
    start_healthy(upstream, 10)
    live: list[Service] = [upstream]
    try:
        run = launch(
            "workerd-body-cost",
            work,
            f"http://127.0.0.1:{up_port}",
            {"API_KEY": API_KEY},
            only=["gw-local", variant_name("other")],
            variants={"other": Path(args.other)},
        )
        live.append(run.service)
        run.start(120)
        pids = [p for p in process_tree(run.pid) if process_name(p) == "workerd"]
        names = {"this": run.urls["gw-local"], "other": run.urls[variant_name("other")]}
        for url in names.values():  # first request: Pyodide loads and the gateway imports
            http_get(url + "/_gateway/health", timeout=60)
        results: dict[str, dict[str, list[dict[str, float]]]] = {m: {n: [] for n in names} for m in ("POST", "GET")}
        for method in ("POST", "GET"):
            for url in names.values():
                wrk(url, method, args.connections, 2, work)  # warm-up
        for r in range(1, args.rounds + 1):
            for method in ("POST", "GET"):
                for name, url in names.items():
                    cpu0 = cpu_seconds(pids)
                    busy0 = machine_busy_pct(0.2)
                    res = wrk(url, method, args.connections, args.duration, work)
                    res["cpu_us_per_req"] = (cpu_seconds(pids) - cpu0) / res["requests"] * 1e6
                    res["machine_busy_pct_before"] = busy0
                    results[method][name].append(res)
                    log(
                        f"round {r} {method:4} {name:5} {res['rps']:7.0f} req/s  p50 {res['p50_us']:6.0f} µs  "
                        f"workerd CPU {res['cpu_us_per_req']:6.0f} µs/req  errors {res['errors']}  "
                        f"(machine busy before: {busy0:.0f}%)"
                    )
        for method in ("POST", "GET"):
            med = {n: {k: median([row[k] for row in rows]) for k in ("rps", "p50_us", "cpu_us_per_req")}
                   for n, rows in results[method].items()}  # fmt: skip
            ratio = {k: med["this"][k] / med["other"][k] for k in med["this"]}
            print(
                f"{method}: this {med['this']['rps']:.0f} req/s, p50 {med['this']['p50_us']:.0f} µs, "
                f"{med['this']['cpu_us_per_req']:.0f} µs CPU/req | other {med['other']['rps']:.0f} req/s, "
                f"p50 {med['other']['p50_us']:.0f} µs, {med['other']['cpu_us_per_req']:.0f} µs CPU/req | "
                f"ratio this/other: req/s {ratio['rps']:.3f}, p50 {ratio['p50_us']:.3f}, CPU {ratio['cpu_us_per_req']:.3f}"
            )
        return 0
    finally:
        for service in reversed(live):
            service.stop()


if __name__ == "__main__":
    raise SystemExit(main())
