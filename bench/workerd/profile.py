"""V8 CPU profiles of Workers on workerd under load: where a Python Worker's time goes.

Starts one workerd (``bench.workerd.workers``, the bench's Workers, plus any
``--variant``) with V8's inspector on, an nginx upstream, and for each Worker
named: attaches to its isolate (DevTools protocol), starts the sampling
profiler, drives wrk at ``-c`` connections for ``--duration`` seconds, stops
the profiler, and prints

* the workerd process's CPU µs per request during the profiled run (the
  profiler's own cost included, so compare Workers within one run only);
* self time by function, grouped: Python's interpreter (wasm), Pyodide's JS
  glue (FFI), workerd's own JS/C++ APIs, garbage collection, idle;
* the top functions by self time, per request.

    .venv/bin/python -m bench.workerd.profile --workers py,gw-local --duration 8 -c 32
    .venv/bin/python -m bench.workerd.profile --variant cut=/tmp/src-cut --workers py,gw-local,gw-local-cut

Samples only say where the CPU was; their per-request figures are the
sampled share of the measured CPU, not exact times.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import HOST, http_get, log
from bench.request import API_KEY, ORIGIN, REQUEST_HEADERS
from bench.workerd.workers import with_upstream
from bench.wrk import WrkResult, run_wrk
from harness.process import free_port


def _group(frame: dict[str, Any]) -> str:
    """Which layer a sampled frame belongs to."""
    name, url = str(frame["functionName"]), str(frame.get("url", ""))
    if name in ("(idle)", "(program)", "(garbage collector)", "(root)"):
        return name
    if url.startswith("wasm://") or name.startswith("$") or "wasm-function" in name:
        return "wasm (CPython interpreter, C)"
    if "pyodide" in url.lower() or "python" in url.lower():
        return "JS: Pyodide glue/FFI"
    if url == "":
        return "native/builtin (workerd APIs)"
    return f"JS: {url.rsplit('/', 1)[-1]}"


async def _profile(ws_url: str, run: Any) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.ws_connect(ws_url, max_msg_size=0) as ws:
        ids = iter(range(1, 1_000_000))
        pending: dict[int, asyncio.Future[Any]] = {}

        async def reader() -> None:
            async for msg in ws:
                data = json.loads(msg.data)
                if "id" in data and data["id"] in pending:
                    pending.pop(data["id"]).set_result(data.get("result", data.get("error")))

        task = asyncio.create_task(reader())

        async def call(method: str, **params: Any) -> Any:
            i = next(ids)
            fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            pending[i] = fut
            await ws.send_str(json.dumps({"id": i, "method": method, "params": params}))
            return await asyncio.wait_for(fut, 120)

        await call("Profiler.enable")
        await call("Profiler.setSamplingInterval", interval=100)
        await call("Profiler.start")
        result = await asyncio.to_thread(run)
        profile = (await call("Profiler.stop"))["profile"]
        task.cancel()
        return {"profile": profile, "run": result}


def _summarise(profile: dict[str, Any], requests: int, cpu_us_per_req: float, top: int) -> str:
    nodes = {n["id"]: n for n in profile["nodes"]}
    counts: collections.Counter[int] = collections.Counter(profile["samples"])
    total = sum(counts.values())
    busy = sum(c for i, c in counts.items() if nodes[i]["callFrame"]["functionName"] != "(idle)")
    by_group: collections.Counter[str] = collections.Counter()
    by_fn: collections.Counter[str] = collections.Counter()
    for node_id, count in counts.items():
        frame = nodes[node_id]["callFrame"]
        by_group[_group(frame)] += count
        if frame["functionName"] != "(idle)":
            where = frame.get("url", "").rsplit("/", 1)[-1]
            by_fn[f"{frame['functionName'] or '(anonymous)'} {where}:{frame.get('lineNumber', -1)}"] += count
    # Busy samples share the measured CPU (workerd's other threads aside).
    per_sample = cpu_us_per_req / busy if busy else 0.0
    out = [f"  samples {total} ({busy} busy), {requests} requests, {cpu_us_per_req:.0f} CPU µs/req"]
    for group, count in by_group.most_common():
        if group == "(idle)":
            continue
        out.append(f"    {group:<40} {count / busy * 100:5.1f}%  ~{count * per_sample:6.0f} µs/req")
    out.append("  top functions (self):")
    for fn, count in by_fn.most_common(top):
        out.append(f"    {count / busy * 100:5.1f}%  ~{count * per_sample:6.0f} µs/req  {fn}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="py,gw-local", help="which Workers to profile, in order")
    ap.add_argument("--variant", action="append", default=[], help="NAME=SRC_DIR: another gateway tree")
    ap.add_argument("--duration", type=float, default=6.0)
    ap.add_argument("-c", "--connections", type=int, default=32)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--save", type=Path, help="directory for the raw .cpuprofile files")
    args = ap.parse_args()

    names = args.workers.split(",")
    inspector = free_port()
    settings = {"CORS_ALLOW_ORIGINS": ORIGIN, "API_KEY": API_KEY, "HEALTH_TTL_S": "60"}
    variants = dict(variant.split("=", 1) for variant in args.variant)
    with with_upstream(
        "wdprof", settings, only=names, variants={n: Path(d) for n, d in variants.items()}, inspector_port=inspector
    ) as (urls, pid):
        _, targets_raw = http_get(f"http://{HOST}:{inspector}/json", timeout=10)
        targets = json.loads(targets_raw)
        for name in names:
            url = urls[name] + "/"
            status, _ = http_get(url, REQUEST_HEADERS, timeout=30)
            log(f"{name}: warm-up answer {status}")
            run_wrk(url, connections=args.connections, duration=2, headers=REQUEST_HEADERS)
            target = next(t for t in targets if t.get("title", "").endswith(name) or t["id"].endswith(name))

            def run(url: str = url) -> WrkResult:
                return run_wrk(
                    url,
                    connections=args.connections,
                    duration=args.duration,
                    headers=REQUEST_HEADERS,
                    cpu_of={"workerd": [pid]},
                )

            got = asyncio.run(_profile(target["webSocketDebuggerUrl"], run))
            res: WrkResult = got["run"]
            cpu = res.cpu_s["workerd"] / res.requests * 1e6
            print(f"\n== {name}  c{args.connections}: {res.rps:.0f} req/s, other CPU {res.cpu_s['other']:.2f} s")
            print(_summarise(got["profile"], res.requests, cpu, args.top))
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"{name}.cpuprofile").write_text(json.dumps(got["profile"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
