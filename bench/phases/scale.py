"""Phase 2: the twin's p50 at concurrency 1 with 2, 1,000 and 10,000 registered backends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench.peers import twin
from bench.procfs import process_tree, status_kib

if TYPE_CHECKING:
    from bench.suite import Suite


def run(s: Suite) -> None:
    names = []
    for n in s.args.scale_backends:
        name = f"twin-{n}"
        names.append(name)
        srv = s.launch(name, twin, s.upstream_url, max(s.args.start_timeout, 120), backends=n)
        # Route to the last registered backend so the lookup is exercised, not just the default.
        srv.headers["X-Backend"] = f"b{n - 1}"
        if srv.available:
            s.check(srv)
            assert srv.service is not None
            srv.info["idle_rss_kib"] = sum(status_kib(p, "VmRSS") for p in process_tree(srv.service.pid))
        s.servers[name] = srv
    s.results["scale_servers"] = {n: s.servers[n].summary() for n in names}
    s.results["scale"] = s.rounds(names, [1], "scale")
    s.stop(*(s.servers[n] for n in names))
