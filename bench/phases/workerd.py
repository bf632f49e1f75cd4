"""Phase 5: every Worker of bench.workerd.workers in ONE workerd; CPU per request against the Python pass-through.

Each Worker has its own socket; the gateway ones (and ``--workerd-header-variants``)
are also loaded with 30 extra request headers and with 30 extra response headers.
Plus cold start (process start to each Worker's first answer) and the gateway's
import time on workerd.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import ROOT, http_get, log
from bench.peers import Server
from bench.request import (
    API_KEY,
    BROWSER_HEADERS,
    EXTRA_HEADER_COUNT,
    EXTRA_HEADERS,
    MANY_HEADERS_PREFIX,
    ORIGIN,
    PATH,
)
from bench.stats import median
from bench.workerd.workers import WORKERS, launch, variant_name, workerd_pid
from harness.process import ServiceError

if TYPE_CHECKING:
    from bench.suite import Suite


def run(s: Suite) -> None:
    """Five Workers in one workerd: CPU per request against the minimal Python pass-through."""
    a = s.args
    d = s.work / "workerd-multi"
    d.mkdir(exist_ok=True)
    settings = {"CORS_ALLOW_ORIGINS": ORIGIN, "API_KEY": API_KEY, "HEALTH_TTL_S": str(a.health_ttl)}
    only = a.workerd_workers.split(",") if a.workerd_workers else []
    variants: dict[str, Path] = {}
    for variant in a.workerd_variant:
        # The gateway of another commit (or src/ tree) beside this one, in the same workerd.
        name, _, ref = variant.partition("=")
        src = Path(ref)
        if not src.is_dir():
            src = d / f"src-{name}"
            src.mkdir()
            archive = subprocess.run(["git", "archive", ref, "src"], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
            src = src / "src"
        variants[name] = src
        if only:
            only.append(variant_name(name))
    workerd = launch(
        "workerd-multi",
        d,
        s.upstream_url,
        settings,
        only=only,
        variants=variants,
        log_path=s.work / "workerd-multi.log",
    )
    workers = {**WORKERS, **{variant_name(n): f"gateway variant {n!r}, ENVIRONMENT=local" for n in variants}}
    out: dict[str, Any] = {"workers": workers, "variants": a.workerd_variant}
    s.results["workerd"] = out
    log(
        "workerd: starting one workerd with its Workers"
        + (f" (variants {a.workerd_variant})" if a.workerd_variant else "")
    )
    t0 = time.monotonic()
    try:
        workerd.start(a.workerd_start_timeout)
    except ServiceError as exc:
        out["error"] = str(exc)
        log(f"workerd: UNAVAILABLE — {exc}")
        return
    s.live.append(workerd.service)
    ready_s = time.monotonic() - t0
    urls = workerd.urls
    pid = workerd_pid(workerd)
    cold: dict[str, Any] = {"ready_s": round(ready_s, 2)}
    names = []
    for n in urls:
        port = int(urls[n].rsplit(":", 1)[1])
        srv = Server(f"wd-{n}", port, headers=dict(BROWSER_HEADERS), cpu_pid=pid)
        s.servers[srv.name] = srv
        names.append(srv.name)
        s.check(srv)
        cold[f"first_answer_s_{n}"] = round(time.monotonic() - t0, 2)
        if n in a.workerd_header_variants:
            # The same Worker with EXTRA_HEADER_COUNT more request fields, and with an upstream
            # answer carrying that many more: the cost of one header, each way.
            more = {**BROWSER_HEADERS, **EXTRA_HEADERS}
            many = MANY_HEADERS_PREFIX + PATH
            for variant in (
                Server(f"wd-{n}+req{EXTRA_HEADER_COUNT}", port, headers=more, cpu_pid=pid),
                Server(f"wd-{n}+resp{EXTRA_HEADER_COUNT}", port, headers=dict(BROWSER_HEADERS), cpu_pid=pid, path=many),
            ):
                s.servers[variant.name] = variant
                names.append(variant.name)
                s.check(variant)
    cold["gateway_import_ms"] = import_ms(urls.get("py"))
    out["cold"] = cold
    log(f"workerd cold start: {cold}")
    out["rounds"] = s.rounds(names, a.concurrency, "workerd")


def import_ms(base: str | None) -> float | None:
    """The gateway's import on workerd: ``/_bench/import`` (first) minus a no-op round trip."""
    if base is None:
        return None

    def timed(path: str) -> float:
        t = time.perf_counter()
        http_get(base + path, timeout=60)
        return time.perf_counter() - t

    noop = median([timed("/_bench/noop") for _ in range(5)])
    first = timed("/_bench/import")
    return round((first - noop) * 1000, 1)
