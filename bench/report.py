"""The suite's report: a table of medians (min–max) per phase, then the targets' PASS/FAIL lines."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from bench import workerd_figures as wf
from bench.common import GiB
from bench.peers import label
from bench.request import EXTRA_HEADER_COUNT
from bench.stats import fmt_range, med, median, spread
from bench.targets import Target, evaluate


class Report:
    """Prints what ``results`` (a run's JSON, live or re-read with ``--report``) holds; ``targets`` after print()."""

    def __init__(self, results: dict[str, Any], args: argparse.Namespace) -> None:
        self.r = results
        self.args = args
        self.targets: list[Target] = []

    def print(self) -> None:
        a = self.args
        print()
        print(
            f"Gateway benchmark — {a.rounds} alternating rounds × {a.duration:.0f}s per configuration and "
            f"concurrency, after {a.warmup:.0f}s warm-up; medians (min–max). wrk -t{a.wrk_threads}; "
            f"{os.cpu_count()} cores shared by wrk, the server and the upstream."
        )
        main = self.r.get("main", {})
        for c in map(str, a.concurrency):
            self.table(f"concurrency {c}", main, c)
        scale = self.r.get("scale")
        if scale:
            self.table(
                "scale (twin, concurrency 1; ratios to 2 backends)", scale, "1", ref=f"twin-{a.scale_backends[0]}"
            )
        self.print_stream()
        self.print_pyodide()
        self.print_workerd()
        self.targets = evaluate(self.r, a)
        print("\nTargets")
        for t in self.targets:
            print(f"  {t['status']:<4}  {t['name']}: {t['detail']}")

    def table(self, title: str, data: dict[str, Any], c: str, ref: str = "direct") -> None:
        print(f"\n{title}")
        hdr = (
            f"  {'configuration':<34} {'req/s':>22} {'×' + ref[:6]:>8} {'p50 µs':>17} {'+p50 µs':>8} "
            f"{'p99 µs':>20} {'server CPU':>10} {'CPU µs/req':>10} {'upstr CPU':>9} {'wrk CPU':>8} {'other':>6} {'hits/req':>8} {'errors':>6}"
        )
        print(hdr)
        ref_rows = data.get(ref, {}).get(c, [])
        ref_rps = med(ref_rows, "rps") if ref_rows else float("nan")
        ref_p50 = med(ref_rows, "p50_us") if ref_rows else float("nan")
        for name, per_c in data.items():
            rows = per_c.get(c, [])
            if not rows:
                srv = self.r.get("servers", {}).get(name) or self.r.get("scale_servers", {}).get(name) or {}
                why = (srv.get("reason") or "no results").splitlines()[0]
                print(f"  {label(name):<34} unavailable: {why}")
                continue
            rps = [x["rps"] for x in rows]
            p50 = [x["p50_us"] for x in rows]
            p99 = [x["p99_us"] for x in rows]
            srv_cpu = [x["cpu_s"].get("server", 0) / x["duration_s"] * 100 for x in rows]
            cpu_req = [x["cpu_s"].get("server", 0) / x["requests"] * 1e6 for x in rows if x["requests"]]
            up_cpu = [x["cpu_s"]["upstream"] / x["duration_s"] * 100 for x in rows]
            wrk_cpu = [x["cpu_s"]["wrk"] / x["duration_s"] * 100 for x in rows]
            other = [x["cpu_s"].get("other", 0) / x["duration_s"] * 100 for x in rows]
            hits = sum(x["upstream_hits"] for x in rows) / max(1, sum(x["requests"] for x in rows))
            errs = sum(sum(x["errors"].values()) for x in rows)
            srv_cpu_s = f"{median(srv_cpu):.0f}%" if name != "direct" else "-"
            cpu_req_s = f"{median(cpu_req):.0f}" if name != "direct" else "-"
            print(
                f"  {label(name):<34} {fmt_range(rps):>22} {median(rps) / ref_rps:>7.2f}× "
                f"{fmt_range(p50):>17} {median(p50) - ref_p50:>+8.0f} {fmt_range(p99):>20} "
                f"{srv_cpu_s:>10} {cpu_req_s:>10} {median(up_cpu):>8.0f}% {median(wrk_cpu):>7.0f}% {median(other):>5.0f}% "
                f"{hits:>8.3f} {errs:>6}"
            )

    def print_stream(self) -> None:
        s = self.r.get("stream")
        if not s:
            return
        print(f"\nstreaming: {s.get('bytes', 0) / GiB:.2f} GiB each way (client → proxy → sink/source upstream)")
        if "error" in s:
            print(f"  error: {s['error']}")
            return
        print(f"  {'configuration':<34} {'up MiB/s':>9} {'up RSS +MiB':>11} {'down MiB/s':>10} {'down RSS +MiB':>13}")
        for name in ("direct", "aiohttp", "twin"):
            v = s.get(name)
            if v is None:
                continue
            if not v.get("available"):
                why = (v.get("reason") or "").splitlines()[0] if v.get("reason") else ""
                print(f"  {label(name):<34} unavailable: {why}")
                continue
            cells = []
            for d in ("up", "down"):
                x = v.get(d, {})
                thr = f"{x['mib_s']:.0f}" if x.get("ok") else "FAILED"
                rss = f"{x['rss_growth_mib']:.1f}" if "rss_growth_mib" in x else "-"
                cells += [thr, rss]
            print(f"  {label(name):<34} {cells[0]:>9} {cells[1]:>11} {cells[2]:>10} {cells[3]:>13}")

    def print_pyodide(self) -> None:
        p = self.r.get("pyodide")
        if p is None:
            return
        print("\npyodide (harness/pyodide/bench.mjs)")
        if "skipped" in p:
            print(f"  skipped: {p['skipped']}")
            return
        result = p.get("result") if isinstance(p.get("result"), dict) else None
        per_req = (result or {}).get("per_request_python", {})
        for name, v in per_req.items():
            if isinstance(v, dict) and "median_ms" in v:
                print(
                    f"  {name:<42} median {v['median_ms'] * 1000:6.0f} µs  p99 {v.get('p99_ms', float('nan')) * 1000:6.0f} µs"
                )
        if result and isinstance(result.get("import_ms"), dict):
            print("  import ms: " + ", ".join(f"{k} {v}" for k, v in result["import_ms"].items()))
        if result is None or not per_req:
            print("  " + json.dumps(p, default=str)[:3000])
        # The Pyodide benchmark judges its own targets; show them beside ours.
        targets = (result or {}).get("targets") or {}
        for key, met in targets.items():
            if key.endswith("_met"):
                base = key[:-4]
                limit = next(
                    (f"{v} {k[len(base) + 1 :]}" for k, v in targets.items() if k.startswith(base + "_") and k != key),
                    "?",
                )
                print(f"  pyodide target {base} ≤ {limit}: {'PASS' if met else 'FAIL'}")

    def print_workerd(self) -> None:
        w = self.r.get("workerd")
        if w is None:
            return
        rounds = w.get("rounds", {})
        ref = wf.reference(self.r)
        print(
            f"\nworkerd: every Worker in one workerd process (× = ratio to {label(ref)}; "
            "ratio spread = that ratio round by round, median (min–max))"
        )
        if "error" in w:
            print(f"  unavailable: {w['error'][:2000]}")
            return
        for c in map(str, self.args.concurrency):
            print(f"  concurrency {c}")
            print(
                f"    {'Worker':<72} {'req/s':>7} {'×':>5} {'p50 µs':>7} {'p99 µs':>7} "
                f"{'workerd CPU µs/req':>19} {'×':>5}  {'× per round':>18}"
            )
            ref_rows = rounds.get(ref, {}).get(c, [])
            ref_rps = med(ref_rows, "rps") if ref_rows else None
            ref_cpu = wf.cpu_us(self.r, ref, c)
            for name, by_c in rounds.items():
                rows = by_c.get(c, [])
                if not rows:
                    print(f"    {label(name):<72} (no result)")
                    continue
                rps, cpu = med(rows, "rps"), wf.cpu_us(self.r, name, c)
                rps_x = f"{rps / ref_rps:.2f}" if ref_rps else "-"
                cpu_x = f"{cpu / ref_cpu:.2f}" if cpu and ref_cpu else "-"
                print(
                    f"    {label(name):<72} {rps:7.0f} {rps_x:>5} {med(rows, 'p50_us'):7.0f} "
                    f"{med(rows, 'p99_us'):7.0f} {cpu or float('nan'):19.0f} {cpu_x:>5}  "
                    f"{spread(wf.ratios(self.r, name, ref, c), 2):>18}"
                )
            for name in rounds:
                for way in ("req", "resp"):
                    variant = f"{name}+{way}{EXTRA_HEADER_COUNT}"
                    if variant in rounds:
                        print(
                            f"    µs per extra {'request' if way == 'req' else 'response'} header, "
                            f"{label(name)}: {spread(wf.slopes(self.r, name, variant, c), 1)}"
                        )
        cold = w.get("cold", {})
        if cold:
            print("  cold start: " + ", ".join(f"{k} {v}" for k, v in cold.items()))
