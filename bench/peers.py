"""The configurations the twin is measured against, and how each one is started.

A recipe builds the Service for one configuration: (launch context, name, port,
upstream URL) → Service. Its health URL is the benchmark request itself, except
for the twin (``/_gateway/health``). Adding a peer is one entry in PEERS.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import BENCH_DIR, HOST, log
from bench.nginx import proxy_nginx
from bench.request import API_KEY, ORIGIN, PATH, REQUEST_HEADERS, url
from bench.workerd.workers import WORKERS
from harness import services
from harness.process import NODE_BIN, Service, tool_env

PROXIES = BENCH_DIR / "proxies"

WORKERD_CONFIG = """\
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .passthrough),
    (name = "upstream", external = (address = "{upstream}", http = ())),
  ],
  sockets = [(name = "http", address = "{host}:{port}", http = (), service = "main")],
);

const passthrough :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "passthrough_worker.js")],
  compatibilityDate = "2024-09-23",
  bindings = [(name = "UPSTREAM", service = "upstream")],
);
"""


@dataclass(frozen=True)
class Launch:
    """What a recipe needs besides name, port and upstream: the run's folder and the suite's settings."""

    work: Path
    proxy_workers: int = 1
    health_ttl: int = 5
    twin_env: tuple[str, ...] = ()  # KEY=VALUE, extra environment for the twin

    def twin_log(self, name: str) -> Path:
        """Where the twin called ``name`` writes its JSON request log."""
        return self.work / f"{name}.log.jsonl"


def nginx_proxy(ctx: Launch, name: str, port: int, upstream: str) -> Service:
    return proxy_nginx(name, ctx.work, port, upstream.removeprefix("http://"), ctx.proxy_workers, url(port))


def aiohttp_proxy(ctx: Launch, name: str, port: int, upstream: str) -> Service:
    argv = [sys.executable, str(PROXIES / "aiohttp_proxy.py"), "--port", str(port), "--upstream", upstream]
    return Service(name, argv, log_path=ctx.work / f"{name}.log", health_url=url(port))


def workerd(ctx: Launch, name: str, port: int, upstream: str) -> Service:
    d = ctx.work / name
    d.mkdir(exist_ok=True)
    shutil.copy(PROXIES / "passthrough_worker.js", d)
    config = WORKERD_CONFIG.format(host=HOST, port=port, upstream=upstream.removeprefix("http://"))
    (d / "config.capnp").write_text(config)
    argv = [str(NODE_BIN / "workerd"), "serve", str(d / "config.capnp")]
    return Service(name, argv, log_path=ctx.work / f"{name}.log", health_url=url(port), cwd=d)


def uvicorn_httpx(ctx: Launch, name: str, port: int, upstream: str) -> Service:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "uvicorn_httpx:app",
        "--app-dir",
        str(PROXIES),
        "--host",
        HOST,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "4096",
    ]
    return Service(
        name, argv, log_path=ctx.work / f"{name}.log", health_url=url(port), env=tool_env({"UPSTREAM_URL": upstream})
    )


def twin(ctx: Launch, name: str, port: int, upstream: str, backends: int = 1, tree: Path | None = None) -> Service:
    """The twin with every feature on; ``backends`` - 1 extra backends all point at the upstream too.

    ``tree``: run the twin of another checkout (``--twin-variant``), its
    ``local_runner/`` and ``src/`` ahead of this one's on the import path.
    """
    settings = {
        "ENVIRONMENT": "local",
        "BACKEND_UPSTREAM_URL": upstream,
        "DEFAULT_BACKEND": "upstream",
        "CORS_ALLOW_ORIGINS": ORIGIN,
        "API_KEY": API_KEY,
        "HEALTH_TTL_S": str(ctx.health_ttl),
        **{f"BACKEND_B{i}_URL": upstream for i in range(1, backends)},
        **dict(kv.partition("=")[::2] for kv in ctx.twin_env),
    }
    args = ["--log-file", str(ctx.twin_log(name))]
    service = services.twin(port, settings, ctx.work / f"{name}.log", args, name=name)
    if tree is not None:
        service.cwd = tree
        service.env["PYTHONPATH"] = f"{tree}{os.pathsep}{tree / 'src'}"
    return service


Recipe = Callable[..., Service]


@dataclass(frozen=True)
class Peer:
    label: str
    launch: Recipe | None  # None: no process of its own, load goes straight to the upstream


#: Every configuration of the main phase, in the order of each round. Adding a peer is one entry.
PEERS = {
    "direct": Peer("direct (wrk → nginx upstream)", None),
    "nginx": Peer("nginx proxy_pass, keep-alive pool", nginx_proxy),
    "aiohttp": Peer("minimal aiohttp proxy", aiohttp_proxy),
    "workerd": Peer("workerd pass-through Worker", workerd),
    "uvicorn": Peer("minimal uvicorn + httpx proxy", uvicorn_httpx),
    "twin": Peer("twin, all features on", twin),
}


@dataclass
class Server:
    """One configuration under test: where to send load and which processes to account."""

    name: str
    port: int
    service: Service | None = None  # None for "direct"
    available: bool = True
    reason: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=lambda: dict(REQUEST_HEADERS))
    cpu_pid: int | None = None  # the process whose tree is "server" CPU (default: the service's)
    path: str = PATH

    @property
    def url(self) -> str:
        return url(self.port, self.path)

    def unavailable(self, reason: str) -> None:
        """Mark it out of the measurements, with the reason the report prints."""
        self.available, self.reason = False, reason
        log(f"{self.name}: UNAVAILABLE — {reason}")

    def summary(self) -> dict[str, Any]:
        return {"available": self.available, "reason": self.reason, **self.info}


def label(name: str) -> str:
    """The report's name for a configuration, a workerd Worker (and its header variants) or a scale twin."""
    base, plus, more = name.partition("+")
    if plus and base.startswith("wd-"):
        return f"{label(base)}, +{more[-2:]} {'request' if more.startswith('req') else 'response'} headers"
    if name.startswith("wd-") and name[3:] in WORKERS:
        return "workerd " + WORKERS[name[3:]]
    if name.startswith("wd-gw-local-"):  # --workerd-variant
        return f"workerd gateway variant {name[12:]!r}, ENVIRONMENT=local"
    if name in PEERS:
        return PEERS[name].label
    if name.startswith("twin-") and name[5:].isdigit():  # the scale phase's twins
        return f"twin, {int(name[5:]):,} backends"
    return name
