"""The gateway benchmark suite: our CPython twin against its peers, on 127.0.0.1 only.

    bench/run.sh [--quick] [--rounds N] [--duration S] [--configs a,b,...] [--skip-scale] ...

Phases (each bounded in time; everything started is stopped at the end, also on Ctrl-C):

1. throughput/latency: wrk at concurrency 1 and 32 against each configuration (PEERS), in
   alternating rounds (A B C …, A B C …) after a warm-up —
     direct    wrk → nginx upstream (fixed ~200-byte JSON, keep-alive)
     nginx     nginx proxy_pass with a keep-alive upstream pool
     aiohttp   minimal aiohttp reverse proxy, one shared ClientSession, streaming
     workerd   pass-through JavaScript Worker in `workerd serve` (generated capnp config)
     uvicorn   minimal uvicorn + httpx ASGI proxy
     twin      `python -m local_runner` with every feature on (CORS allow-list, API_KEY,
               JSON logs to a file, request ids, cached health)
   recording req/s, p50/p99 and the CPU each process tree used (utime+stime from /proc),
   plus upstream hits per client request (nginx stub_status).
2. scale: twin p50 at concurrency 1 with 2, 1,000 and 10,000 registered backends.
3. streaming: 1 GiB up and 1 GiB down through direct, the aiohttp proxy and the twin,
   against a sink/source aiohttp upstream; throughput and peak RSS growth.
4. Pyodide: `node tests/pyodide/bench.mjs`; its JSON is included.
5. workerd: ONE workerd (Miniflare's API, bench/workerd/workers.mjs) with five Workers, each on
   its own socket: the JS pass-through, a minimal Python pass-through (`js.fetch` of the
   request), the least header-editing Python gateway written by hand
   (bench/workerd/minimal_gateway.py), the gateway in local mode and in cloud mode (backend in
   KV); wrk at c1 and c32 in
   alternating rounds; req/s, p50/p99 and the workerd process's CPU µs per request, as ratios
   to the Python pass-through. Plus cold start (process start to each Worker's first answer)
   and the gateway's import time on workerd.

Prints a table of medians (min–max) with ratios to direct, PASS/FAIL lines for the
targets, and writes everything to bench/results/run-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import benchlib as bl

from devstack import services
from devstack.process import NODE_BIN, Service, ServiceError, free_port, start_healthy, tail, tool_env

ROOT = bl.ROOT
PROXIES = bl.BENCH_DIR / "proxies"
API_KEY = "bench-4f9c1e7a2b"
ORIGIN = "https://app.example.com"
# Every configuration receives the same request bytes; only the twin acts on these.
REQUEST_HEADERS = {"Authorization": f"Bearer {API_KEY}", "Origin": ORIGIN}
PATH = "/v1/items?limit=4"
#: The workerd phase's request: what a browser sends when the web app calls the gateway
#: cross-origin (Chromium 131's fetch, plus the app's own fields): 20 fields with wrk's Host.
#: Every Worker of that phase gets these, so none is flattered by a few-header request.
BROWSER_HEADERS = {
    **REQUEST_HEADERS,
    "Connection": "keep-alive",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate, br, zstd",
    "Accept-Language": "en-GB,en;q=0.9,de;q=0.8",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Referer": f"{ORIGIN}/next",
    "Sec-Ch-Ua": '"Chromium";v="131", "Not_A Brand";v="24"',
    "Sec-Ch-Ua-Mobile": "?0",
    "Sec-Ch-Ua-Platform": '"Linux"',
    "Sec-Fetch-Dest": "empty",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-site",
    "Priority": "u=1, i",
    "Cache-Control": "no-cache",
    "Pragma": "no-cache",
    "X-Backend": "upstream",
    "X-Request-Id": "bench-browser-request-0001",
    "Cookie": "theme=dark; _ga=GA1.1.1234567890.1733400000",
}
#: The Python pass-through the workerd phase's ratios are taken against (the gateway's floor).
WORKERD_REF = "wd-py-onfetch"
#: Issue #22's targets: the gateway with a browser request ≤ 1.5× that floor; ≤ 5 µs per extra header.
WORKERD_GATEWAY_RATIO = 1.5
WORKERD_US_PER_HEADER = 5.0
GiB = 2**30
#: Issue #15's targets for the twin with every feature on.
TWIN_CPU_US = 50
TWIN_ADDED_P50_US = 100

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


# ---------------------------------------------------------------------- launch recipes
# A recipe builds the Service for one configuration: (suite, name, port, upstream URL) → Service.
# Its health URL is the benchmark request itself, except for the twin (/_gateway/health).


def url(port: int, path: str = PATH) -> str:
    return f"http://{bl.HOST}:{port}{path}"


def nginx_proxy(s: Suite, name: str, port: int, upstream: str) -> Service:
    body = bl.PROXY_SERVER.format(host=bl.HOST, port=port, upstream=upstream.removeprefix("http://"))
    return bl.nginx(name, s.work, body, s.args.proxy_workers, url(port))


def aiohttp_proxy(s: Suite, name: str, port: int, upstream: str) -> Service:
    argv = [sys.executable, str(PROXIES / "aiohttp_proxy.py"), "--port", str(port), "--upstream", upstream]
    return Service(name, argv, log_path=s.work / f"{name}.log", health_url=url(port))


def workerd(s: Suite, name: str, port: int, upstream: str) -> Service:
    d = s.work / name
    d.mkdir(exist_ok=True)
    shutil.copy(PROXIES / "passthrough_worker.js", d)
    config = WORKERD_CONFIG.format(host=bl.HOST, port=port, upstream=upstream.removeprefix("http://"))
    (d / "config.capnp").write_text(config)
    argv = [str(NODE_BIN / "workerd"), "serve", str(d / "config.capnp")]
    return Service(name, argv, log_path=s.work / f"{name}.log", health_url=url(port), cwd=d)


def uvicorn_httpx(s: Suite, name: str, port: int, upstream: str) -> Service:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "uvicorn_httpx:app",
        "--app-dir",
        str(PROXIES),
        "--host",
        bl.HOST,
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
        name, argv, log_path=s.work / f"{name}.log", health_url=url(port), env=tool_env({"UPSTREAM_URL": upstream})
    )


def twin(s: Suite, name: str, port: int, upstream: str, backends: int = 1, tree: Path | None = None) -> Service:
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
        "HEALTH_TTL_S": str(s.args.health_ttl),
        **{f"BACKEND_B{i}_URL": upstream for i in range(1, backends)},
        **dict(kv.partition("=")[::2] for kv in s.args.twin_env),
    }
    args = ["--log-file", str(s.twin_log(name))]
    service = services.twin(port, settings, s.work / f"{name}.log", args, name=name)
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


#: The Workers of the workerd phase (bench/workerd/workers.mjs), all in one workerd process.
WORKERD_WORKERS = {
    "js": "JS pass-through (env.UPSTREAM.fetch)",
    "py": "Python pass-through, Default(WorkerEntrypoint)",
    "py-onfetch": "Python pass-through, on_fetch (the floor)",
    "py-min": "least header-editing Python gateway (by hand)",
    "gw-local": "gateway, ENVIRONMENT=local",
    "gw-cloud": "gateway, ENVIRONMENT=cloud (KV)",
}


def label(name: str) -> str:
    base, plus, more = name.partition("+")
    if plus and base.startswith("wd-"):
        return f"{label(base)}, +{more[-2:]} {'request' if more.startswith('req') else 'response'} headers"
    if name.startswith("wd-") and name[3:] in WORKERD_WORKERS:
        return "workerd " + WORKERD_WORKERS[name[3:]]
    if name in PEERS:
        return PEERS[name].label
    if name.startswith("twin-") and name[5:].isdigit():  # the scale phase's twins
        return f"twin, {int(name[5:]):,} backends"
    return name


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

    def summary(self) -> dict[str, Any]:
        return {"available": self.available, "reason": self.reason, **self.info}


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = bl.make_workdir("gateway-bench-")
        self.results: dict[str, Any] = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "settings": {k: v for k, v in vars(args).items() if not k.startswith("_")},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()},
            "notes": ["wrk and every server share the machine's cores; CPU columns show who used them"],
        }
        self.up_port = free_port()
        self.upstream_url = f"http://{bl.HOST}:{self.up_port}"
        self.upstream: Service | None = None
        self.live: list[Service] = []  # started and not yet stopped
        self.servers: dict[str, Server] = {}
        self.gate = bl.QuietGate(args.quiet_threshold, args.quiet_wait, args.quiet_budget)

    # ------------------------------------------------------------------ starting and stopping

    def twin_log(self, name: str) -> Path:
        return self.work / f"{name}.log.jsonl"

    def start_upstream(self) -> None:
        try:
            self.upstream = start_healthy(bl.upstream_nginx(self.work, self.up_port, self.args.upstream_workers), 10)
        except ServiceError as exc:
            raise SystemExit(f"upstream nginx did not start: {exc}") from exc
        self.live.append(self.upstream)

    def launch(
        self, name: str, recipe: Recipe | None, upstream: str, timeout: float | None = None, **kw: Any
    ) -> Server:
        """Start one configuration and wait until it is healthy; on failure it is marked unavailable."""
        if recipe is None:
            return Server(name, int(upstream.rsplit(":", 1)[1]))
        port = free_port()
        srv = Server(name, port, recipe(self, name, port, upstream, **kw))
        t0 = time.monotonic()
        try:
            start_healthy(srv.service, timeout or self.args.start_timeout)
            self.live.append(srv.service)
        except ServiceError as exc:
            srv.available, srv.reason = False, str(exc)
            bl.log(f"{name}: UNAVAILABLE — {srv.reason}")
        srv.info["startup_s"] = round(time.monotonic() - t0, 2)
        return srv

    def stop(self, *servers: Server) -> None:
        for srv in servers:
            if srv.service in self.live:
                self.live.remove(srv.service)
                srv.service.stop()

    def stop_all(self) -> None:
        while self.live:
            self.live.pop().stop()

    def check(self, srv: Server) -> None:
        """Proves a configuration answers the benchmark request correctly before loading it."""
        try:
            status, body = bl.http_get(srv.url, srv.headers, timeout=5)
        except OSError as exc:
            status, body = 0, str(exc).encode()
        if body.decode(errors="replace") != bl.UPSTREAM_BODY:
            srv.available, srv.reason = False, f"HTTP {status}, body differs from the upstream's: {body[:200]!r}"
            bl.log(f"{srv.name}: UNAVAILABLE — {srv.reason}")
        elif srv.name.startswith("twin"):
            self.check_twin_features(srv)

    def check_twin_features(self, srv: Server) -> None:
        """Records evidence that each feature is really on (printed, not enforced)."""
        import urllib.request

        req = urllib.request.Request(srv.url, headers=REQUEST_HEADERS)
        with urllib.request.urlopen(req, timeout=5) as r:
            request_id = r.headers.get("x-request-id")
            allow_origin = r.headers.get("access-control-allow-origin")
        no_key, _ = bl.http_get(srv.url, {"Origin": ORIGIN})
        time.sleep(0.7)  # the twin flushes its log every 0.5 s
        log_file = self.twin_log(srv.name)
        log_lines = log_file.read_text(errors="replace").splitlines() if log_file.exists() else []
        json_lines = 0
        for ln in log_lines[-20:]:
            try:
                json.loads(ln)
                json_lines += 1
            except ValueError:
                pass
        feats = {
            "cors_allow_origin_header": allow_origin,
            "request_id_header": request_id,
            "status_without_api_key": no_key,
            "log_lines_so_far": len(log_lines),
            "json_log_lines_of_last_20": json_lines,
        }
        srv.info["features"] = feats
        bl.log(f"{srv.name} features: {feats}")

    # ------------------------------------------------------------------ load

    def cpu_groups(self, srv: Server) -> dict[str, list[int]]:
        groups = {"upstream": bl.process_tree(self.upstream.pid)}
        if srv.cpu_pid is not None:
            groups["server"] = bl.process_tree(srv.cpu_pid)
        elif srv.service is not None:
            groups["server"] = bl.process_tree(srv.service.pid)
        return groups

    def wrk(self, srv: Server, conns: int, duration: float) -> bl.WrkResult:
        return bl.run_wrk(
            srv.url,
            connections=conns,
            duration=duration,
            threads=self.args.wrk_threads,
            headers=srv.headers,
            cpu_of=self.cpu_groups(srv),
            upstream_stats_port=self.up_port,
        )

    def rounds(self, names: list[str], concs: list[int], phase: str) -> dict[str, dict[str, list[dict]]]:
        a = self.args
        live = [n for n in names if self.servers[n].available]
        out: dict[str, dict[str, list[dict]]] = {n: {str(c): [] for c in concs} for n in names}
        if not live:
            bl.log(f"{phase}: no configuration available, nothing to measure")
            return out
        bl.log(f"{phase}: warm-up {a.warmup:.0f}s per configuration and concurrency ({', '.join(live)})")
        for c in concs:
            for n in live:
                self.safe_wrk(self.servers[n], c, a.warmup, retries=0)
        for r in range(1, a.rounds + 1):
            for c in concs:
                for n in live:
                    srv = self.servers[n]
                    if not srv.available:
                        continue
                    res = self.safe_wrk(srv, c, a.duration)
                    if res is None:
                        continue
                    row = asdict(res)
                    row["round"] = r
                    out[n][str(c)].append(row)
                    hits = res.upstream_hits / res.requests if res.requests else float("nan")
                    bl.log(
                        f"{phase} round {r}/{a.rounds} c{c:<3} {n:<11} {res.rps:9.0f} req/s  "
                        f"p50 {res.p50_us:6.0f} µs  p99 {res.p99_us:7.0f} µs  "
                        f"server CPU {res.cpu_s.get('server', 0) / res.duration_s * 100:4.0f}%  "
                        f"wrk CPU {res.cpu_s['wrk'] / res.duration_s * 100:4.0f}%  "
                        f"other CPU {res.cpu_s['other'] / res.duration_s * 100:4.0f}%  "
                        f"upstream hits/req {hits:.3f}  errors {res.error_count}"
                    )
        return out

    def safe_wrk(self, srv: Server, conns: int, duration: float, retries: int | None = None) -> bl.WrkResult | None:
        retries = self.args.noise_retries if retries is None else retries
        if srv.service is not None and not srv.service.running():
            code = srv.service.process.returncode
            srv.available, srv.reason = False, f"process died (exit {code}): {tail(srv.service.log_path, 15)}"
            bl.log(f"{srv.name}: UNAVAILABLE — {srv.reason}")
            return None
        res = None
        for attempt in range(1 + retries):
            if retries:
                busy = self.gate.wait()
                if busy > self.gate.threshold:
                    bl.log(f"machine still busy ({busy:.0f}% of a core) before {srv.name} c{conns}; measuring anyway")
            try:
                res = self.wrk(srv, conns, duration)
            except RuntimeError as exc:
                bl.log(f"{srv.name}: wrk failed: {exc}")
                return None
            noise = res.cpu_s["other"] / res.duration_s * 100
            if noise <= self.args.max_noise:
                break
            bl.log(
                f"{srv.name} c{conns}: other processes used {noise:.0f}% of a core during the run"
                + (" — repeating it" if attempt < retries else " — kept, flagged")
            )
        if res.requests and res.error_count > 0.01 * res.requests:
            bl.log(
                f"{srv.name}: {res.error_count} errors in {res.requests} requests ({res.errors}) — result kept, flagged"
            )
        return res

    # ------------------------------------------------------------------ phases

    def phase_main(self) -> None:
        for name in self.args.configs:
            if name not in PEERS:
                raise SystemExit(f"unknown configuration {name!r}; choose from {', '.join(PEERS)}")
            self.servers[name] = srv = self.launch(name, PEERS[name].launch, self.upstream_url)
            if srv.available:
                self.check(srv)
        self.results["main"] = self.rounds(self.args.configs, self.args.concurrency, "main")
        twin = self.servers.get("twin")
        if twin and twin.available:
            log_file = self.twin_log("twin")
            twin.info["log_bytes_after_main"] = log_file.stat().st_size if log_file.exists() else 0
        self.results["servers"] = {n: s.summary() for n, s in self.servers.items()}
        # Idle servers are stopped before the next phases so they cannot compete for CPU.
        self.stop(*self.servers.values())

    def phase_scale(self) -> None:
        names = []
        for n in self.args.scale_backends:
            name = f"twin-{n}"
            names.append(name)
            srv = self.launch(name, twin, self.upstream_url, max(self.args.start_timeout, 120), backends=n)
            # Route to the last registered backend so the lookup is exercised, not just the default.
            srv.headers["X-Backend"] = f"b{n - 1}"
            if srv.available:
                self.check(srv)
                srv.info["idle_rss_kib"] = sum(bl.status_kib(p, "VmRSS") for p in bl.process_tree(srv.service.pid))
            self.servers[name] = srv
        self.results["scale_servers"] = {n: self.servers[n].summary() for n in names}
        self.results["scale"] = self.rounds(names, [1], "scale")
        self.stop(*(self.servers[n] for n in names))

    def phase_stream(self) -> None:
        total = self.args.stream_bytes
        port = free_port()
        argv = [sys.executable, str(bl.BENCH_DIR / "upstreams" / "stream_upstream.py"), "--port", str(port)]
        up = Server(
            "stream-upstream",
            port,
            Service(
                "stream-upstream", argv, log_path=self.work / "stream-upstream.log", health_url=url(port, "/__stats")
            ),
        )
        try:
            self.live.append(start_healthy(up.service, 20))
        except ServiceError as exc:
            self.results["stream"] = {"error": f"stream upstream did not start: {exc}"}
            return
        peers = ["direct", "aiohttp"] + (["twin"] if "twin" in self.args.configs else [])
        servers = {p: self.launch(f"stream-{p}", PEERS[p].launch, url(port, "")) for p in peers}
        out: dict[str, Any] = {"bytes": total}
        for name, srv in servers.items():
            if not srv.available:
                out[name] = {"available": False, "reason": srv.reason}
                continue
            base = url(srv.port, "")
            out[name] = {"available": True}
            for direction in ("up", "down"):
                self.stream_client(base, direction, 16 * 2**20)  # warm-up: allocators, pools
                sampler = bl.RssSampler(srv.service.pid) if srv.service else None
                rss0 = sampler.rss_now() if sampler else 0
                hwm0 = sampler.hwm_now() if sampler else 0
                cpu_pids = bl.process_tree(srv.service.pid) if srv.service else []
                cpu0 = bl.cpu_seconds(cpu_pids)
                if sampler:
                    sampler.start()
                res = self.stream_client(base, direction, total)
                if sampler:
                    sampler.stop()
                    hwm1 = sampler.hwm_now()
                    peak = max(sampler.peak_kib, hwm1 if hwm1 > hwm0 else 0)
                    res.update(
                        rss_before_kib=rss0,
                        rss_peak_kib=peak,
                        rss_growth_mib=(peak - rss0) / 1024,
                        rss_samples=sampler.samples,
                        hwm_before_kib=hwm0,
                        hwm_after_kib=hwm1,
                    )
                    res["server_cpu_s"] = bl.cpu_seconds(cpu_pids) - cpu0
                out[name][direction] = res
                growth = f"  RSS growth {res['rss_growth_mib']:.1f} MiB" if "rss_growth_mib" in res else ""
                bl.log(
                    f"stream {name:<8} {direction:<4} {res.get('mib_s', 0):7.0f} MiB/s  ok={res.get('ok')}{growth}"
                    + (f"  error: {res['error']}" if "error" in res else "")
                )
        self.results["stream"] = out
        self.stop(*servers.values(), up)

    def stream_client(self, base: str, direction: str, total: int) -> dict:
        argv = [
            sys.executable,
            str(bl.BENCH_DIR / "stream_client.py"),
            "--base",
            base,
            "--direction",
            direction,
            "--bytes",
            str(total),
            "--timeout",
            str(self.args.stream_timeout),
        ]
        for k, v in REQUEST_HEADERS.items():
            argv += ["-H", f"{k}: {v}"]
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=self.args.stream_timeout + 15, check=False)
        except subprocess.TimeoutExpired:
            return {"direction": direction, "ok": False, "error": "stream client timed out"}
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"direction": direction, "ok": False, "error": (p.stderr or p.stdout)[-500:]}

    def phase_pyodide(self) -> None:
        # tool_env puts node_modules/.bin (the project's node) first on PATH.
        env = tool_env(
            {
                "BENCH_UPSTREAM_URL": self.upstream_url,
                "BENCH_QUICK": "1" if self.args.quick else "0",
                "BENCH_DURATION_S": str(self.args.duration),
            }
        )
        bl.log("pyodide: node --experimental-wasm-stack-switching tests/pyodide/bench.mjs")
        try:
            p = subprocess.run(
                ["node", "--experimental-wasm-stack-switching", "tests/pyodide/bench.mjs"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.args.pyodide_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.results["pyodide"] = {"error": f"timed out after {self.args.pyodide_timeout}s"}
            return
        parsed = None
        try:
            parsed = json.loads(p.stdout)
        except ValueError:
            for ln in reversed(p.stdout.strip().splitlines()):
                try:
                    parsed = json.loads(ln)
                    break
                except ValueError:
                    continue
        self.results["pyodide"] = {
            "exit_code": p.returncode,
            "result": parsed,
            **({} if parsed is not None else {"stdout_tail": p.stdout[-2000:]}),
            **({"stderr_tail": p.stderr[-2000:]} if p.returncode else {}),
        }

    def phase_workerd(self) -> None:
        """Five Workers in one workerd: CPU per request against the minimal Python pass-through."""
        a = self.args
        d = self.work / "workerd-multi"
        d.mkdir(exist_ok=True)
        overlay = services.workerd_overlay(d / "wrangler.dev.json")
        settings = {"CORS_ALLOW_ORIGINS": ORIGIN, "API_KEY": API_KEY, "HEALTH_TTL_S": str(a.health_ttl)}
        argv = bl.workerd_workers_argv(overlay, self.upstream_url, settings, d / "state")
        only = a.workerd_workers.split(",") if a.workerd_workers else []
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
            argv += ["--variant", f"{name}={src.resolve()}"]
            if only:
                only.append(f"gw-local-{name}")
            WORKERD_WORKERS.setdefault(f"gw-local-{name}", f"gateway variant {name!r}, ENVIRONMENT=local")
        if only:
            argv += ["--only", ",".join(only)]
        svc = Service("workerd-multi", argv, log_path=self.work / "workerd-multi.log", env=services.workerd_env())
        out: dict[str, Any] = {"workers": dict(WORKERD_WORKERS), "variants": a.workerd_variant}
        self.results["workerd"] = out
        bl.log(
            "workerd: starting one workerd with its Workers"
            + (f" (variants {a.workerd_variant})" if a.workerd_variant else "")
        )
        t0 = time.monotonic()
        svc.start()
        self.live.append(svc)
        try:
            svc.wait_for_output("READY", a.workerd_start_timeout)
        except ServiceError as exc:
            out["error"] = str(exc)
            bl.log(f"workerd: UNAVAILABLE — {exc}")
            return
        ready_s = time.monotonic() - t0
        line = next(ln for ln in svc.output().splitlines() if ln.startswith("READY "))
        urls = dict(item.split("=", 1) for item in line.split()[1:])
        workerd_pid = next((p for p in bl.process_tree(svc.pid) if bl.process_name(p) == "workerd"), svc.pid)
        cold: dict[str, Any] = {"ready_s": round(ready_s, 2)}
        names = []
        for n in urls:
            port = int(urls[n].rsplit(":", 1)[1])
            srv = Server(f"wd-{n}", port, headers=dict(BROWSER_HEADERS), cpu_pid=workerd_pid)
            self.servers[srv.name] = srv
            names.append(srv.name)
            self.check(srv)
            cold[f"first_answer_s_{n}"] = round(time.monotonic() - t0, 2)
            if n in a.workerd_header_variants:
                # The same Worker with EXTRA_HEADER_COUNT more request fields, and with an upstream
                # answer carrying that many more: the cost of one header, each way.
                more = {**BROWSER_HEADERS, **bl.EXTRA_HEADERS}
                many = bl.MANY_HEADERS_PREFIX + PATH
                for variant in (
                    Server(f"wd-{n}+req{bl.EXTRA_HEADER_COUNT}", port, headers=more, cpu_pid=workerd_pid),
                    Server(
                        f"wd-{n}+resp{bl.EXTRA_HEADER_COUNT}",
                        port,
                        headers=dict(BROWSER_HEADERS),
                        cpu_pid=workerd_pid,
                        path=many,
                    ),
                ):
                    self.servers[variant.name] = variant
                    names.append(variant.name)
                    self.check(variant)
        cold["gateway_import_ms"] = self.workerd_import_ms(urls.get("py"))
        out["cold"] = cold
        bl.log(f"workerd cold start: {cold}")
        out["rounds"] = self.rounds(names, a.concurrency, "workerd")

    def workerd_import_ms(self, base: str | None) -> float | None:
        """The gateway's import on workerd: ``/_bench/import`` (first) minus a no-op round trip."""
        if base is None:
            return None

        def timed(path: str) -> float:
            t = time.perf_counter()
            bl.http_get(base + path, timeout=60)
            return time.perf_counter() - t

        noop = bl.median([timed("/_bench/noop") for _ in range(5)])
        first = timed("/_bench/import")
        return round((first - noop) * 1000, 1)

    # ------------------------------------------------------------------ run

    def run(self) -> int:
        t0 = time.monotonic()
        try:
            self.start_upstream()
            self.phase_main()
            if not self.args.skip_scale and "twin" in self.args.configs:
                self.phase_scale()
            if not self.args.skip_stream:
                self.phase_stream()
            if not self.args.skip_pyodide:
                self.phase_pyodide()
            if not self.args.skip_workerd:
                self.phase_workerd()
        finally:
            self.stop_all()
        self.results["elapsed_s"] = round(time.monotonic() - t0, 1)
        self.results["quiet_wait_s"] = round(self.gate.waited, 1)
        report = Report(self.results, self.args)
        report.print()
        self.results["targets"] = report.targets
        out = self.args.output or (bl.BENCH_DIR / "results" / f"run-{time.strftime('%Y%m%d-%H%M%S')}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.results, indent=2, default=str))
        if self.args.keep_workdir:
            print(f"\nresults: {out}   (work dir with every server's logs: {self.work})")
        else:
            shutil.rmtree(self.work, ignore_errors=True)  # the twin's JSON log alone is ~80 MB a full run
            print(f"\nresults: {out}   (--keep-workdir keeps the servers' logs)")
        return 1 if (self.args.strict and any(t["status"] != "PASS" for t in report.targets)) else 0


# ---------------------------------------------------------------------- report


def med(rows: list[dict], key: str) -> float:
    return bl.median([r[key] for r in rows])


def spread(values: list[float], digits: int) -> str:
    """``median (min–max)`` of per-round values, or ``-`` when there are none."""
    if not values:
        return "-"
    return f"{bl.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


class Report:
    def __init__(self, results: dict, args: argparse.Namespace) -> None:
        self.r = results
        self.args = args
        self.targets: list[dict] = []

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
        self.evaluate()
        print("\nTargets")
        for t in self.targets:
            print(f"  {t['status']:<4}  {t['name']}: {t['detail']}")

    def table(self, title: str, data: dict, c: str, ref: str = "direct") -> None:
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
            srv_cpu_s = f"{bl.median(srv_cpu):.0f}%" if name != "direct" else "-"
            cpu_req_s = f"{bl.median(cpu_req):.0f}" if name != "direct" else "-"
            print(
                f"  {label(name):<34} {bl.fmt_range(rps):>22} {bl.median(rps) / ref_rps:>7.2f}× "
                f"{bl.fmt_range(p50):>17} {bl.median(p50) - ref_p50:>+8.0f} {bl.fmt_range(p99):>20} "
                f"{srv_cpu_s:>10} {cpu_req_s:>10} {bl.median(up_cpu):>8.0f}% {bl.median(wrk_cpu):>7.0f}% {bl.median(other):>5.0f}% "
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
                print(
                    f"  {label(name):<34} unavailable: {(v.get('reason') or '').splitlines()[0] if v.get('reason') else ''}"
                )
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
        print("\npyodide (tests/pyodide/bench.mjs)")
        if "skipped" in p:
            print(f"  skipped: {p['skipped']}")
        else:
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
            for key, met in ((result or {}).get("targets") or {}).items():
                if key.endswith("_met"):
                    base = key[:-4]
                    limit = next(
                        (
                            f"{v} {k[len(base) + 1 :]}"
                            for k, v in result["targets"].items()
                            if k.startswith(base + "_") and k != key
                        ),
                        "?",
                    )
                    print(f"  pyodide target {base} ≤ {limit}: {'PASS' if met else 'FAIL'}")

    def workerd_cpu_us(self, name: str, c: str) -> float | None:
        rows = self.r.get("workerd", {}).get("rounds", {}).get(name, {}).get(c, [])
        per_req = [r["cpu_s"]["server"] / r["requests"] * 1e6 for r in rows if r["requests"]]
        return bl.median(per_req) if per_req else None

    def workerd_round_cpu(self, name: str, c: str) -> dict[int, float]:
        """CPU µs per request of ``name`` in each round (round number → value)."""
        rows = self.r.get("workerd", {}).get("rounds", {}).get(name, {}).get(c, [])
        return {r["round"]: r["cpu_s"]["server"] / r["requests"] * 1e6 for r in rows if r["requests"]}

    def workerd_ratios(self, name: str, ref: str, c: str) -> list[float]:
        """``name``'s CPU per request over ``ref``'s, round by round (both ran in the same round)."""
        mine, theirs = self.workerd_round_cpu(name, c), self.workerd_round_cpu(ref, c)
        return [mine[r] / theirs[r] for r in sorted(mine) if theirs.get(r)]

    def workerd_slopes(self, base: str, variant: str, c: str) -> list[float]:
        """µs per extra header, round by round: (variant − base) / the number of extra headers."""
        mine, theirs = self.workerd_round_cpu(variant, c), self.workerd_round_cpu(base, c)
        return [(mine[r] - theirs[r]) / bl.EXTRA_HEADER_COUNT for r in sorted(mine) if r in theirs]

    def workerd_ref(self) -> str:
        rounds = self.r.get("workerd", {}).get("rounds", {})
        return WORKERD_REF if WORKERD_REF in rounds else "wd-py"

    def print_workerd(self) -> None:
        w = self.r.get("workerd")
        if w is None:
            return
        rounds = w.get("rounds", {})
        ref = self.workerd_ref()
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
            ref_cpu = self.workerd_cpu_us(ref, c)
            for name, by_c in rounds.items():
                rows = by_c.get(c, [])
                if not rows:
                    print(f"    {label(name):<72} (no result)")
                    continue
                rps, cpu = med(rows, "rps"), self.workerd_cpu_us(name, c)
                rps_x = f"{rps / ref_rps:.2f}" if ref_rps else "-"
                cpu_x = f"{cpu / ref_cpu:.2f}" if cpu and ref_cpu else "-"
                print(
                    f"    {label(name):<72} {rps:7.0f} {rps_x:>5} {med(rows, 'p50_us'):7.0f} "
                    f"{med(rows, 'p99_us'):7.0f} {cpu or float('nan'):19.0f} {cpu_x:>5}  "
                    f"{spread(self.workerd_ratios(name, ref, c), 2):>18}"
                )
            for name in rounds:
                for way in ("req", "resp"):
                    variant = f"{name}+{way}{bl.EXTRA_HEADER_COUNT}"
                    if variant in rounds:
                        print(
                            f"    µs per extra {'request' if way == 'req' else 'response'} header, "
                            f"{label(name)}: {spread(self.workerd_slopes(name, variant, c), 1)}"
                        )
        cold = w.get("cold", {})
        if cold:
            print("  cold start: " + ", ".join(f"{k} {v}" for k, v in cold.items()))

    # ------------------------------------------------------------------ targets

    def evaluate_workerd(self) -> None:
        if "rounds" not in self.r.get("workerd", {}):
            return
        ref = self.workerd_ref()
        for c in map(str, self.args.concurrency):
            # Issue #22: against the on_fetch pass-through (the 1.2× of the Default one is retired).
            ratios = self.workerd_ratios("wd-gw-local", ref, c)
            name = f"workerd gateway (browser request) CPU/request ≤ {WORKERD_GATEWAY_RATIO}× {ref[3:]}'s, c{c}"
            if not ratios:
                self.add(name, False, "not measured")
            else:
                self.add(name, bl.median(ratios) <= WORKERD_GATEWAY_RATIO, f"{spread(ratios, 2)}× over the rounds")
            for way in ("req", "resp"):
                slopes = self.workerd_slopes("wd-gw-local", f"wd-gw-local+{way}{bl.EXTRA_HEADER_COUNT}", c)
                name = f"workerd gateway ≤ {WORKERD_US_PER_HEADER:.0f} µs per extra {way} header, c{c}"
                if not slopes:
                    self.add(name, False, "not measured")
                else:
                    ok = bl.median(slopes) <= WORKERD_US_PER_HEADER
                    self.add(name, ok, f"{spread(slopes, 1)} µs over the rounds")

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        status = "PASS" if ok else "FAIL"
        self.targets.append({"name": name, "status": status, "detail": detail})

    def evaluate(self) -> None:
        self.evaluate_workerd()
        main = self.r.get("main", {})
        servers = self.r.get("servers", {})

        def m(cfg: str, c: str, key: str) -> float | None:
            rows = main.get(cfg, {}).get(c, [])
            if key == "cpu_us_per_req":
                return bl.median([x["cpu_s"].get("server", 0) / x["requests"] * 1e6 for x in rows]) if rows else None
            return med(rows, key) if rows else None

        def unavailable(cfg: str, where: dict | None = None) -> str:
            info = (where or servers).get(cfg, {})
            return (info.get("reason") or "no results").splitlines()[0]

        twin_rps = m("twin", "32", "rps")
        for peer in ("aiohttp", "workerd"):
            peer_rps = m(peer, "32", "rps")
            name = f"twin req/s at c32 ≥ 1.0× {label(peer)}"
            if twin_rps is None or peer_rps is None:
                missing = "twin" if twin_rps is None else peer
                self.add(name, None, f"{missing} unavailable ({unavailable(missing)})")
            else:
                tc, pc = m("twin", "32", "cpu_us_per_req"), m(peer, "32", "cpu_us_per_req")
                self.add(
                    name,
                    twin_rps >= peer_rps,
                    f"{twin_rps:.0f} vs {peer_rps:.0f} req/s = {twin_rps / peer_rps:.2f}× "
                    f"(per core of CPU: {tc:.0f} vs {pc:.0f} µs/request = {pc / tc:.2f}×)",
                )

        # Issue #15: half the CPU per request, and a c1 latency within 100 µs of direct.
        tc, ac, nc = (m(cfg, "32", "cpu_us_per_req") for cfg in ("twin", "aiohttp", "nginx"))
        name = f"twin CPU per request at c32 ≤ {TWIN_CPU_US} µs"
        if tc is None:
            self.add(name, None, f"twin unavailable ({unavailable('twin')})")
        else:
            peers = ", ".join(f"{label(p)} {c:.0f} µs" for p, c in (("aiohttp", ac), ("nginx", nc)) if c is not None)
            self.add(name, tc <= TWIN_CPU_US, f"{tc:.0f} µs ({peers})")

        t50, d50 = m("twin", "1", "p50_us"), m("direct", "1", "p50_us")
        name = f"twin added p50 at c1 ≤ {TWIN_ADDED_P50_US} µs over direct"
        if t50 is None or d50 is None:
            self.add(name, None, f"twin unavailable ({unavailable('twin')})")
        else:
            self.add(name, t50 - d50 <= TWIN_ADDED_P50_US, f"{t50:.0f} − {d50:.0f} = {t50 - d50:+.0f} µs")

        s = self.r.get("stream", {}).get("twin")
        name = f"twin streams {self.args.stream_bytes / GiB:.2f} GiB each way with peak RSS growth ≤ 64 MiB"
        if not s or not s.get("available"):
            reason = (
                (s or {}).get("reason")
                or self.r.get("stream", {}).get("error")
                or "stream phase skipped or twin unavailable"
            )
            self.add(name, None, f"twin unavailable ({reason.splitlines()[0]})")
        else:
            up, down = s.get("up", {}), s.get("down", {})
            ok = (
                up.get("ok")
                and down.get("ok")
                and self.args.stream_bytes >= GiB
                and up.get("rss_growth_mib", 1e9) <= 64
                and down.get("rss_growth_mib", 1e9) <= 64
            )
            self.add(
                name,
                bool(ok),
                f"up {'ok' if up.get('ok') else 'FAILED ' + str(up.get('error', up.get('status')))} "
                f"{up.get('mib_s', 0):.0f} MiB/s +{up.get('rss_growth_mib', float('nan')):.1f} MiB; "
                f"down {'ok' if down.get('ok') else 'FAILED ' + str(down.get('error', down.get('status')))} "
                f"{down.get('mib_s', 0):.0f} MiB/s +{down.get('rss_growth_mib', float('nan')):.1f} MiB",
            )

        rows = [x for c in main.get("twin", {}).values() for x in c]
        name = "1.00 upstream hit per client request (twin, steady state)"
        if not rows:
            self.add(name, None, f"twin unavailable ({unavailable('twin')})")
        else:
            hits, reqs = sum(x["upstream_hits"] for x in rows), sum(x["requests"] for x in rows)
            ratio = hits / reqs
            self.add(name, round(ratio, 2) == 1.00, f"{hits} upstream hits / {reqs} requests = {ratio:.4f}")

        scale = self.r.get("scale", {})
        counts = self.args.scale_backends
        lo, hi = f"twin-{counts[0]}", f"twin-{counts[-1]}"
        name = f"p50 at {counts[-1]:,} backends ≤ 1.1× p50 at {counts[0]}"
        lo_rows, hi_rows = scale.get(lo, {}).get("1", []), scale.get(hi, {}).get("1", [])
        if not lo_rows or not hi_rows:
            missing = lo if not lo_rows else hi
            self.add(
                name,
                None,
                f"{missing} unavailable ({unavailable(missing, self.r.get('scale_servers', {})) if self.r.get('scale_servers') else 'scale phase skipped or twin unavailable'})",
            )
        else:
            a, b = med(lo_rows, "p50_us"), med(hi_rows, "p50_us")
            self.add(name, b <= 1.1 * a, f"{b:.0f} vs {a:.0f} µs = {b / a:.2f}×")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run, ~3 minutes: 3 rounds × 2s, 1s warm-up")
    ap.add_argument("--rounds", type=int, help="alternating rounds (default 5; --quick 3)")
    ap.add_argument("--duration", type=float, help="seconds per measured wrk run (default 10; --quick 2)")
    ap.add_argument(
        "--warmup", type=float, help="seconds of warm-up per configuration and concurrency (default 3; --quick 1)"
    )
    ap.add_argument("--configs", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--concurrency", default="1,32")
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--upstream-workers", type=int, default=1, help="nginx worker processes of the upstream")
    ap.add_argument("--proxy-workers", type=int, default=1, help="nginx worker processes of the nginx proxy")
    ap.add_argument("--scale-backends", default="2,1000,10000")
    ap.add_argument("--stream-bytes", type=int, default=GiB)
    ap.add_argument("--stream-timeout", type=float, default=180)
    ap.add_argument("--health-ttl", type=int, default=5, help="HEALTH_TTL_S given to the twin")
    ap.add_argument(
        "--twin-env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for the twin"
    )
    ap.add_argument(
        "--max-noise",
        type=float,
        default=25.0,
        help="repeat a run when other processes used more than this %% of a core during it",
    )
    ap.add_argument("--noise-retries", type=int, default=1)
    ap.add_argument(
        "--quiet-threshold",
        type=float,
        default=20.0,
        help="before each measured run, wait until the idle machine uses less than this %% of a core",
    )
    ap.add_argument("--quiet-wait", type=float, default=20.0, help="longest wait for quiet before one run (s)")
    ap.add_argument(
        "--quiet-budget", type=float, help="total waiting allowed per suite run (s; default 300, --quick 60)"
    )
    ap.add_argument("--start-timeout", type=float, default=30)
    ap.add_argument("--pyodide-timeout", type=float, default=600)
    ap.add_argument(
        "--twin-variant",
        action="append",
        default=[],
        metavar="twin-vNAME=DIR",
        help="also load the twin of another checkout (e.g. a `git worktree` of main) in the same rounds",
    )
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-stream", action="store_true")
    ap.add_argument("--skip-pyodide", action="store_true")
    ap.add_argument("--skip-workerd", action="store_true")
    ap.add_argument("--workerd-start-timeout", type=float, default=120)
    ap.add_argument(
        "--workerd-variant",
        action="append",
        default=[],
        metavar="NAME=COMMIT|SRC_DIR",
        help="also run the gateway of COMMIT's src/ (or a src/ tree) as gw-local-NAME in the workerd phase",
    )
    ap.add_argument(
        "--workerd-workers",
        metavar="NAME,...",
        help="only these Workers of bench/workerd/workers.mjs (default: all but pieces)",
    )
    ap.add_argument(
        "--workerd-header-variants",
        type=lambda v: [n for n in v.split(",") if n],
        default=["py-onfetch", "gw-local"],
        metavar="NAME,...",
        help="Workers also measured with 30 extra request and 30 extra response headers"
        " (default py-onfetch,gw-local; name a variant as gw-local-NAME)",
    )
    ap.add_argument("--keep-workdir", action="store_true", help="keep the temporary folder with every server's logs")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    ap.add_argument("--report", type=Path, metavar="RESULTS_JSON", help="only re-print the report of a saved run")
    ap.add_argument("--output", type=Path, help="JSON results path (default bench/results/run-<time>.json)")
    a = ap.parse_args(argv)
    quick = {"rounds": 3, "duration": 2.0, "warmup": 1.0}
    full = {"rounds": 5, "duration": 10.0, "warmup": 3.0}
    for k, v in (quick if a.quick else full).items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.quiet_budget is None:
        a.quiet_budget = 60.0 if a.quick else 300.0
    if a.quick and a.pyodide_timeout == 600:
        a.pyodide_timeout = 180
    a.configs = [c for c in a.configs.split(",") if c]
    for variant in a.twin_variant:
        # Another tree's twin beside this one, in the same rounds (before/after of a change).
        name, _, tree = variant.partition("=")
        if not name.startswith("twin-v") or not tree or not (Path(tree) / "local_runner").is_dir():
            raise SystemExit(f"--twin-variant {variant!r}: want twin-vNAME=DIR, DIR holding local_runner/ and src/")
        PEERS[name] = Peer(f"twin {name[6:]} ({tree})", functools.partial(twin, tree=Path(tree).resolve()))
        if name not in a.configs:
            a.configs.append(name)
    a.concurrency = [int(c) for c in a.concurrency.split(",")]
    a.scale_backends = [int(c) for c in a.scale_backends.split(",")]
    return a


def main() -> int:
    args = parse_args()
    if args.report:
        # Re-print the tables and targets of a saved run without running anything.
        results = json.loads(args.report.read_text())
        Report(results, argparse.Namespace(**results["settings"])).print()
        return 0
    bl.install_signal_handlers()
    return Suite(args).run()


if __name__ == "__main__":
    sys.exit(main())
