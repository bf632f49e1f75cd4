"""A tiny aiohttp upstream for the streaming benchmark; it never stores a body.

    POST /sink            reads the request body chunk by chunk, answers {"bytes": n}
    GET  /source?bytes=N  streams N bytes (a repeated 256 KiB block) with Content-Length
    anything else         200 with a small JSON body (health probes etc.)

Usage: python stream_upstream.py --port 8090
"""

from __future__ import annotations

import argparse
import asyncio
import json

import uvloop
from aiohttp import web

BLOCK = bytes(range(256)) * 1024  # 256 KiB
HITS = {"n": 0}


async def sink(request: web.Request) -> web.Response:
    HITS["n"] += 1
    n = 0
    async for chunk in request.content.iter_any():
        n += len(chunk)
    return web.json_response({"bytes": n})


async def source(request: web.Request) -> web.StreamResponse:
    HITS["n"] += 1
    total = int(request.query.get("bytes", "0"))
    resp = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
    resp.content_length = total
    await resp.prepare(request)
    view = memoryview(BLOCK)
    left = total
    while left > 0:
        k = min(left, len(BLOCK))
        await resp.write(view[:k])
        left -= k
    await resp.write_eof()
    return resp


async def stats(_: web.Request) -> web.Response:
    return web.json_response({"hits": HITS["n"]})


async def other(_: web.Request) -> web.Response:
    HITS["n"] += 1
    return web.Response(body=json.dumps({"status": "ok"}).encode(), content_type="application/json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    app = web.Application(client_max_size=0)
    app.router.add_post("/sink", sink)
    app.router.add_get("/source", source)
    app.router.add_get("/__stats", stats)
    app.router.add_route("*", "/{tail:.*}", other)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
