"""Load in alternating rounds: wrk against each configuration in turn, each run screened for noise."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from bench.common import log
from bench.peers import Server
from bench.procfs import QuietGate, process_tree
from bench.wrk import WrkResult, run_wrk
from harness.process import tail

#: Per configuration, per concurrency (as a string: the results are JSON), one row per round.
Rows = dict[str, dict[str, list[dict[str, Any]]]]


class Load:
    """Runs wrk for the suite: which CPU to account, when to repeat a noisy run, the rounds themselves."""

    def __init__(self, args: argparse.Namespace, gate: QuietGate, upstream_pid: int, upstream_port: int) -> None:
        self.args = args
        self.gate = gate
        self.upstream_pid = upstream_pid
        self.upstream_port = upstream_port

    def cpu_groups(self, srv: Server) -> dict[str, list[int]]:
        groups = {"upstream": process_tree(self.upstream_pid)}
        if srv.cpu_pid is not None:
            groups["server"] = process_tree(srv.cpu_pid)
        elif srv.service is not None:
            groups["server"] = process_tree(srv.service.pid)
        return groups

    def wrk(self, srv: Server, conns: int, duration: float) -> WrkResult:
        return run_wrk(
            srv.url,
            connections=conns,
            duration=duration,
            threads=self.args.wrk_threads,
            headers=srv.headers,
            cpu_of=self.cpu_groups(srv),
            upstream_stats_port=self.upstream_port,
        )

    def rounds(self, servers: dict[str, Server], concs: list[int], phase: str) -> Rows:
        """A warm-up per configuration and concurrency, then ``--rounds`` rounds of every live one in turn."""
        a = self.args
        live = [n for n, srv in servers.items() if srv.available]
        out: Rows = {n: {str(c): [] for c in concs} for n in servers}
        if not live:
            log(f"{phase}: no configuration available, nothing to measure")
            return out
        log(f"{phase}: warm-up {a.warmup:.0f}s per configuration and concurrency ({', '.join(live)})")
        for c in concs:
            for n in live:
                self.safe_wrk(servers[n], c, a.warmup, retries=0)
        for r in range(1, a.rounds + 1):
            for c in concs:
                for n in live:
                    srv = servers[n]
                    if not srv.available:
                        continue
                    res = self.safe_wrk(srv, c, a.duration)
                    if res is None:
                        continue
                    row = asdict(res)
                    row["round"] = r
                    out[n][str(c)].append(row)
                    hits = (res.upstream_hits or 0) / res.requests if res.requests else float("nan")
                    log(
                        f"{phase} round {r}/{a.rounds} c{c:<3} {n:<11} {res.rps:9.0f} req/s  "
                        f"p50 {res.p50_us:6.0f} µs  p99 {res.p99_us:7.0f} µs  "
                        f"server CPU {res.cpu_s.get('server', 0) / res.duration_s * 100:4.0f}%  "
                        f"wrk CPU {res.cpu_s['wrk'] / res.duration_s * 100:4.0f}%  "
                        f"other CPU {res.cpu_s['other'] / res.duration_s * 100:4.0f}%  "
                        f"upstream hits/req {hits:.3f}  errors {res.error_count}"
                    )
        return out

    def safe_wrk(self, srv: Server, conns: int, duration: float, retries: int | None = None) -> WrkResult | None:
        """One run, repeated (``--noise-retries``) when other processes used more than ``--max-noise``."""
        retries = self.args.noise_retries if retries is None else retries
        if srv.service is not None and not srv.service.running():
            assert srv.service.process is not None
            code = srv.service.process.returncode
            srv.unavailable(f"process died (exit {code}): {tail(srv.service.log_path, 15)}")
            return None
        res = None
        for attempt in range(1 + retries):
            if retries:
                busy = self.gate.wait()
                if busy > self.gate.threshold:
                    log(f"machine still busy ({busy:.0f}% of a core) before {srv.name} c{conns}; measuring anyway")
            try:
                res = self.wrk(srv, conns, duration)
            except RuntimeError as exc:
                log(f"{srv.name}: wrk failed: {exc}")
                return None
            noise = res.cpu_s["other"] / res.duration_s * 100
            if noise <= self.args.max_noise:
                break
            log(
                f"{srv.name} c{conns}: other processes used {noise:.0f}% of a core during the run"
                + (" — repeating it" if attempt < retries else " — kept, flagged")
            )
        assert res is not None  # the loop runs at least once
        if res.requests and res.error_count > 0.01 * res.requests:
            log(
                f"{srv.name}: {res.error_count} errors in {res.requests} requests ({res.errors}) — result kept, flagged"
            )
        return res
