"""Phase 3: 1 GiB up and 1 GiB down through direct, the aiohttp proxy and the twin; throughput and RSS growth.

The upstream is bench/upstreams/stream_upstream.py (a sink and a source); the
client is bench/stream_client.py, a process of its own so its memory is not the server's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from bench.common import BENCH_DIR, log
from bench.peers import PEERS, Server
from bench.procfs import RssSampler, cpu_seconds, process_tree
from bench.request import REQUEST_HEADERS, url
from harness.process import Service, ServiceError, free_port, start_healthy

if TYPE_CHECKING:
    from bench.suite import Suite

UPSTREAM = BENCH_DIR / "upstreams" / "stream_upstream.py"
CLIENT = BENCH_DIR / "stream_client.py"


def run(s: Suite) -> None:
    total = s.args.stream_bytes
    port = free_port()
    argv = [sys.executable, str(UPSTREAM), "--port", str(port)]
    up = Server(
        "stream-upstream",
        port,
        Service("stream-upstream", argv, log_path=s.work / "stream-upstream.log", health_url=url(port, "/__stats")),
    )
    assert up.service is not None
    try:
        s.live.append(start_healthy(up.service, 20))
    except ServiceError as exc:
        s.results["stream"] = {"error": f"stream upstream did not start: {exc}"}
        return
    peers = ["direct", "aiohttp"] + (["twin"] if "twin" in s.args.configs else [])
    servers = {p: s.launch(f"stream-{p}", PEERS[p].launch, url(port, "")) for p in peers}
    out: dict[str, Any] = {"bytes": total}
    for name, srv in servers.items():
        if not srv.available:
            out[name] = {"available": False, "reason": srv.reason}
            continue
        base = url(srv.port, "")
        out[name] = {"available": True}
        for direction in ("up", "down"):
            client(s, base, direction, 16 * 2**20)  # warm-up: allocators, pools
            sampler = RssSampler(srv.service.pid) if srv.service else None
            rss0 = sampler.rss_now() if sampler else 0
            hwm0 = sampler.hwm_now() if sampler else 0
            cpu_pids = process_tree(srv.service.pid) if srv.service else []
            cpu0 = cpu_seconds(cpu_pids)
            if sampler:
                sampler.start()
            res = client(s, base, direction, total)
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
                res["server_cpu_s"] = cpu_seconds(cpu_pids) - cpu0
            out[name][direction] = res
            growth = f"  RSS growth {res['rss_growth_mib']:.1f} MiB" if "rss_growth_mib" in res else ""
            log(
                f"stream {name:<8} {direction:<4} {res.get('mib_s', 0):7.0f} MiB/s  ok={res.get('ok')}{growth}"
                + (f"  error: {res['error']}" if "error" in res else "")
            )
    s.results["stream"] = out
    s.stop(*servers.values(), up)


def client(s: Suite, base: str, direction: str, total: int) -> dict[str, Any]:
    """One stream_client.py run: its JSON line, or ``ok: False`` with why."""
    argv = [
        sys.executable,
        str(CLIENT),
        "--base",
        base,
        "--direction",
        direction,
        "--bytes",
        str(total),
        "--timeout",
        str(s.args.stream_timeout),
    ]
    for k, v in REQUEST_HEADERS.items():
        argv += ["-H", f"{k}: {v}"]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=s.args.stream_timeout + 15, check=False)
    except subprocess.TimeoutExpired:
        return {"direction": direction, "ok": False, "error": "stream client timed out"}
    try:
        result: dict[str, Any] = json.loads(p.stdout.strip().splitlines()[-1])
        return result
    except (ValueError, IndexError):
        return {"direction": direction, "ok": False, "error": (p.stderr or p.stdout)[-500:]}
