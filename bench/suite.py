"""One run of the gateway benchmark: the upstream, the configurations it starts and stops, the phases in order."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from typing import Any

from bench import phases
from bench.checks import check
from bench.common import HOST, RESULTS, make_workdir
from bench.nginx import upstream_nginx
from bench.peers import Launch, Recipe, Server
from bench.procfs import QuietGate
from bench.report import Report
from bench.rounds import Load, Rows
from harness.process import Service, ServiceError, free_port, start_healthy


class Suite:
    """Holds what one run started (stopped again on the way out, also on Ctrl-C) and what it measured."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = make_workdir("gateway-bench-")
        self.ctx = Launch(self.work, args.proxy_workers, args.health_ttl, tuple(args.twin_env))
        self.results: dict[str, Any] = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": {k: v for k, v in vars(args).items() if not k.startswith("_")},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
            "notes": ["wrk and every server share the machine's cores; CPU columns show who used them"],
        }
        self.up_port = free_port()
        self.upstream_url = f"http://{HOST}:{self.up_port}"
        self.upstream: Service | None = None
        self.live: list[Service] = []  # started and not yet stopped
        self.servers: dict[str, Server] = {}
        self.gate = QuietGate(args.quiet_threshold, args.quiet_wait, args.quiet_budget)
        self.load: Load | None = None  # once the upstream runs

    # ------------------------------------------------------------------ starting and stopping

    def start_upstream(self) -> None:
        try:
            self.upstream = start_healthy(upstream_nginx(self.work, self.up_port, self.args.upstream_workers), 10)
        except ServiceError as exc:
            raise SystemExit(f"upstream nginx did not start: {exc}") from exc
        self.live.append(self.upstream)
        self.load = Load(self.args, self.gate, self.upstream.pid, self.up_port)

    def launch(
        self, name: str, recipe: Recipe | None, upstream: str, timeout: float | None = None, **kw: Any
    ) -> Server:
        """Start one configuration and wait until it is healthy; on failure it is marked unavailable."""
        if recipe is None:
            return Server(name, int(upstream.rsplit(":", 1)[1]))
        port = free_port()
        srv = Server(name, port, recipe(self.ctx, name, port, upstream, **kw))
        assert srv.service is not None
        t0 = time.monotonic()
        try:
            start_healthy(srv.service, timeout or self.args.start_timeout)
            self.live.append(srv.service)
        except ServiceError as exc:
            srv.unavailable(str(exc))
        srv.info["startup_s"] = round(time.monotonic() - t0, 2)
        return srv

    def check(self, srv: Server) -> None:
        check(srv, self.ctx)

    def stop(self, *servers: Server) -> None:
        for srv in servers:
            if srv.service in self.live:
                self.live.remove(srv.service)
                srv.service.stop()

    def stop_all(self) -> None:
        while self.live:
            self.live.pop().stop()

    def rounds(self, names: list[str], concs: list[int], phase: str) -> Rows:
        """The alternating rounds over the named configurations (see bench.rounds)."""
        assert self.load is not None, "start_upstream() first"
        return self.load.rounds({n: self.servers[n] for n in names}, concs, phase)

    # ------------------------------------------------------------------ run

    def run(self) -> int:
        """Every phase not skipped, the report, the results file; 1 with ``--strict`` when a target failed."""
        t0 = time.monotonic()
        try:
            self.start_upstream()
            phases.main.run(self)
            if not self.args.skip_scale and "twin" in self.args.configs:
                phases.scale.run(self)
            if not self.args.skip_stream:
                phases.stream.run(self)
            if not self.args.skip_pyodide:
                phases.pyodide.run(self)
            if not self.args.skip_workerd:
                phases.workerd.run(self)
        finally:
            self.stop_all()
        self.results["elapsed_s"] = round(time.monotonic() - t0, 1)
        self.results["quiet_wait_s"] = round(self.gate.waited, 1)
        report = Report(self.results, self.args)
        report.print()
        self.results["targets"] = report.targets
        out = self.args.output or (RESULTS / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.results, indent=2, default=str))
        if self.args.keep_workdir:
            print(f"\nresults: {out}   (work dir with every server's logs: {self.work})")
        else:
            shutil.rmtree(self.work, ignore_errors=True)  # the twin's JSON log alone is ~80 MB a full run
            print(f"\nresults: {out}   (--keep-workdir keeps the servers' logs)")
        return 1 if (self.args.strict and any(t["status"] != "PASS" for t in report.targets)) else 0
