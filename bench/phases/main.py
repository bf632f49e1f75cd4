"""Phase 1: every configuration (PEERS) at each concurrency, in alternating rounds after a warm-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.peers import PEERS

if TYPE_CHECKING:
    from bench.suite import Suite


def run(s: Suite) -> None:
    for name in s.args.configs:
        if name not in PEERS:
            raise SystemExit(f"unknown configuration {name!r}; choose from {', '.join(PEERS)}")
        s.servers[name] = srv = s.launch(name, PEERS[name].launch, s.upstream_url)
        if srv.available:
            s.check(srv)
    s.results["main"] = s.rounds(s.args.configs, s.args.concurrency, "main")
    twin = s.servers.get("twin")
    if twin and twin.available:
        log_file = s.ctx.twin_log("twin")
        twin.info["log_bytes_after_main"] = log_file.stat().st_size if log_file.exists() else 0
    s.results["servers"] = {n: srv.summary() for n, srv in s.servers.items()}
    # Idle servers are stopped before the next phases so they cannot compete for CPU.
    s.stop(*s.servers.values())
