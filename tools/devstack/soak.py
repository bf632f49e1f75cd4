"""A bounded soak of the twin over loopback: many requests, mixed methods and bodies.

    .venv/bin/python -m devstack.soak                      # 100,000 requests at concurrency 64
    .venv/bin/python -m devstack.soak --requests 5000      # the size the test suite runs
    .venv/bin/python -m devstack.soak --rate-limit 500     # with RATE_LIMIT_REQUESTS=500

It starts an upstream (this file, ``--serve-upstream``, in its own process)
and the twin, warms up, records the twin's open file descriptors and RSS,
runs the load, closes its client connections and records them again. Every
answer is checked (status, and for bodies the length the upstream echoed).
Prints one JSON report; exits 1 if any request failed or the twin's file
descriptors or memory grew past the slack. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from harness import services
from harness.process import Service, free_port, start_healthy, tool_env

FD_SLACK = 8  # listener churn, a pooled upstream connection or two
RSS_SLACK_MIB = 24.0
BODY_SIZES = (0, 100, 1024, 16 * 1024, 256 * 1024)
METHODS = ("GET", "GET", "GET", "HEAD", "POST", "POST", "PUT", "PATCH", "DELETE")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


# --------------------------------------------------------------------------
# the upstream


async def _serve_upstream(port: int) -> None:
    from aiohttp import web

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        length = 0
        async for chunk in request.content.iter_any():
            length += len(chunk)
        if request.path == "/health":
            return web.json_response({"status": "ok"})
        return web.json_response({"method": request.method, "length": length})

    server = web.Server(handle, access_log=None)
    await (await asyncio.get_running_loop().create_server(server, "127.0.0.1", port, backlog=1024)).serve_forever()


# --------------------------------------------------------------------------
# the load


def _body(size: int) -> bytes:
    return b"s" * size


async def _one(session: aiohttp.ClientSession, url: str, rng: random.Random, outcomes: Counter[str]) -> None:
    method = rng.choice(METHODS)
    size = rng.choice(BODY_SIZES) if method in ("POST", "PUT", "PATCH") else 0
    try:
        async with session.request(
            method, f"{url}/soak/{rng.randrange(1000)}?q={size}", data=_body(size) if size else None
        ) as response:
            payload = await response.read()
            if response.status == 429:
                ok = (
                    response.headers.get("content-type") == "application/json"
                    and response.headers.get("retry-after", "").isdigit()
                    and (method == "HEAD" or json.loads(payload)["error"]["code"] == "rate_limited")
                )
                outcomes["429" if ok else "bad 429"] += 1
                return
            if response.status != 200:
                outcomes[f"status {response.status}"] += 1
                return
            if method != "HEAD" and json.loads(payload) != {"method": method, "length": size}:
                outcomes["wrong echo"] += 1
                return
            outcomes["200"] += 1
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        outcomes[f"error {type(exc).__name__}"] += 1


async def _load(url: str, total: int, concurrency: int, seed: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    rng = random.Random(seed)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        remaining = iter(range(total))

        async def worker() -> None:
            for _ in remaining:
                await _one(session, url, rng, outcomes)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


def run(
    *,
    requests: int = 100_000,
    concurrency: int = 64,
    warmup: int = 2000,
    rate_limit: int = 0,
    log_path: Path | None = None,
    seed: int = 1,
) -> dict[str, Any]:
    """Run one soak and return its report (see the module docstring)."""
    up_port, gw_port = free_port(), free_port()
    log_file = log_path or Path(os.devnull)
    upstream = Service(
        "soak-upstream",
        [sys.executable, "-m", "devstack.soak", "--serve-upstream", str(up_port)],
        log_path=Path(os.devnull),
        health_url=f"http://127.0.0.1:{up_port}/health",
        env=tool_env(inherit=False),
    )
    twin_env = {
        "ENVIRONMENT": "local",
        "DEFAULT_BACKEND": "app",
        "BACKEND_APP_URL": f"http://127.0.0.1:{up_port}",
    }
    if rate_limit:
        twin_env["RATE_LIMIT_REQUESTS"] = str(rate_limit)
        twin_env["RATE_LIMIT_PERIOD_S"] = "60"
    twin = services.twin(gw_port, twin_env, log_file)
    url = f"http://127.0.0.1:{gw_port}"
    try:
        start_healthy(upstream, 20)
        start_healthy(twin, 20)
        warm = asyncio.run(_load(url, warmup, concurrency, seed + 1)) if warmup else Counter()
        time.sleep(1.0)
        fds_before, rss_before = open_fds(twin.pid), rss_mib(twin.pid)
        started = time.monotonic()
        outcomes = asyncio.run(_load(url, requests, concurrency, seed))
        elapsed = time.monotonic() - started
        time.sleep(1.0)
        fds_after, rss_after = open_fds(twin.pid), rss_mib(twin.pid)
    finally:
        twin.stop()
        upstream.stop()
    errors = sum(n for outcome, n in outcomes.items() if outcome not in ("200", "429"))
    report = {
        "requests": requests,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(requests / elapsed, 1),
        "outcomes": dict(outcomes),
        "warmup_outcomes": dict(warm),
        "errors": errors,
        "twin_fds": [fds_before, fds_after],
        "twin_rss_mib": [round(rss_before, 1), round(rss_after, 1)],
    }
    report["ok"] = (
        errors == 0
        and (rate_limit or outcomes["429"] == 0)
        and fds_after - fds_before <= FD_SLACK
        and rss_after - rss_before <= RSS_SLACK_MIB
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--rate-limit", type=int, default=0, help="RATE_LIMIT_REQUESTS for the twin (period 60 s)")
    parser.add_argument("--log-file", type=Path, help="where the twin's output goes (default: discarded)")
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve_upstream(args.serve_upstream))
        return 0
    report = run(
        requests=args.requests,
        concurrency=args.concurrency,
        warmup=args.warmup,
        rate_limit=args.rate_limit,
        log_path=args.log_file,
    )
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
