"""The bench's Workers, all in one workerd (harness/workerd/launch.mjs), each on its own socket.

    run = launch("workerd-multi", workdir, "http://127.0.0.1:P", settings).start(300)
    run.urls  # {"js": "http://127.0.0.1:…", "py": …, "gw-local": …, …}

Used by the bench's workerd phase and the tools beside this file (body_cost, profile, pieces).
wrk talks to each Worker's direct socket, with no Node or entry Worker in between. No
RATE_LIMITER binding (its 600/min would answer 429 under load); the Workers' console lines are
dropped (the bench measures the Worker's cost of logging, not a reader's).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from bench.common import HOST, make_workdir
from bench.nginx import upstream_nginx
from bench.procfs import process_name, process_tree
from harness.process import free_port
from harness.services import workerd_overlay
from harness.workerd.launch import SRC, Launch, Worker, gateway

HERE = Path(__file__).resolve().parent
PASSTHROUGH_JS = HERE.parent / "proxies" / "passthrough_worker.js"

#: Every Worker by name, with what it is; ``pieces`` runs only when named (``only``).
WORKERS = {
    "js": "JS pass-through (env.UPSTREAM.fetch)",
    "py": "Python pass-through, Default(WorkerEntrypoint)",
    "py-onfetch": "Python pass-through, on_fetch (the floor)",
    "py-min": "least header-editing Python gateway (by hand)",
    "py-min-native": "the same edits on the runtime's Headers, by on_fetch",
    "gw-adapter": "the gateway's Workers adapter alone, no core",
    "gw-local": "gateway, ENVIRONMENT=local",
    "gw-cloud": "gateway, ENVIRONMENT=cloud (KV)",
}
PIECES = "pieces"


def variant_name(name: str) -> str:
    """The Worker name of gateway variant ``name`` (another src/ tree, local mode)."""
    return f"gw-local-{name}"


def bench_workers(
    upstream: str,
    settings: Mapping[str, str],
    *,
    only: Sequence[str] = (),
    variants: Mapping[str, Path] | None = None,
) -> list[Worker]:
    """The Workers named in ``only`` (default: all of :data:`WORKERS` and the variants).

    ``upstream`` is the origin every Worker forwards to; ``settings`` are the gateway's settings
    (API key, CORS, …); ``variants`` maps a name to another src/ tree, run as ``gw-local-NAME``.
    """
    local = {**settings, "ENVIRONMENT": "local", "BACKEND_UPSTREAM_URL": upstream, "DEFAULT_BACKEND": "upstream"}
    origin = {"UPSTREAM_ORIGIN": upstream}
    available = {
        # The gateway's modules are uploaded beside `py` (not imported at start) for /_bench/import.
        "js": Worker("js", js=PASSTHROUGH_JS, upstream=upstream),
        "py": Worker("py", src=SRC, main=HERE / "passthrough.py", vars=origin),
        "py-onfetch": Worker("py-onfetch", main=HERE / "passthrough_on_fetch.py", vars=origin),
        "py-min": Worker("py-min", main=HERE / "minimal_gateway.py", vars=origin),
        "py-min-native": Worker("py-min-native", main=HERE / "minimal_native.py", vars=origin),
        "gw-adapter": Worker("gw-adapter", src=SRC, main=HERE / "adapter_only.py", vars=origin),
        "gw-local": gateway("gw-local", vars=local),
        PIECES: Worker(PIECES, src=SRC, main=HERE / "pieces_worker.py", vars={**local, **origin}),
        "gw-cloud": gateway(
            "gw-cloud", vars={**settings, "ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "upstream"}, kv="plain"
        ),
    }
    for name, src in (variants or {}).items():
        available[variant_name(name)] = gateway(variant_name(name), src=Path(src).resolve(), vars=local)
    names = list(only) or [name for name in available if name != PIECES]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(f"unknown bench Workers {unknown}; known: {sorted(available)}")
    return [dataclasses.replace(available[name], socket=True) for name in names]


def launch(
    name: str,
    workdir: Path,
    upstream: str,
    settings: Mapping[str, str],
    *,
    only: Sequence[str] = (),
    variants: Mapping[str, Path] | None = None,
    inspector_port: int | None = None,
    log_path: Path | None = None,
) -> Launch:
    """One workerd with :func:`bench_workers` (not started: call ``.start(timeout_s)``).

    The dev overlay and the KV state go under ``workdir``; the log to ``log_path`` (default
    ``workdir/<name>.log``). ``gw-cloud``'s backend is in its KV before READY.
    ``inspector_port`` turns on V8's inspector (profile.py).
    """
    workers = bench_workers(upstream, settings, only=only, variants=variants)
    seed = {}
    if any(worker.kv == "plain" for worker in workers):
        seed["backend:upstream"] = json.dumps({"id": "upstream", "url": upstream, "type": "cloud"})
    return Launch(
        name,
        workerd_overlay(workdir / "wrangler.dev.json"),
        workers,
        log_path=log_path or workdir / f"{name}.log",
        kv_persist=workdir / "state",
        kv_seed=seed,
        inspector_port=inspector_port,
        logs=False,
    )


def workerd_pid(run: Launch) -> int:
    """The workerd process under the launcher (its CPU is the Workers'); the launcher's own pid if none yet."""
    return next((pid for pid in process_tree(run.pid) if process_name(pid) == "workerd"), run.pid)


@contextlib.contextmanager
def with_upstream(
    prefix: str,
    settings: Mapping[str, str],
    *,
    only: Sequence[str] = (),
    variants: Mapping[str, Path] | None = None,
    inspector_port: int | None = None,
    timeout_s: float = 300.0,
) -> Iterator[tuple[dict[str, str], int]]:
    """An nginx upstream and one workerd with the bench's Workers, for the tools beside this
    file; yields ({Worker: base URL}, the workerd pid) and stops both."""
    work = make_workdir(prefix)
    up_port = free_port()
    upstream = upstream_nginx(work, up_port)
    upstream.start()
    try:
        upstream.wait_healthy(15)
        run = launch(
            prefix,
            work,
            f"http://{HOST}:{up_port}",
            settings,
            only=only,
            variants=variants,
            inspector_port=inspector_port,
        )
        with run.start(timeout_s):
            yield run.urls, workerd_pid(run)
    finally:
        upstream.stop()
