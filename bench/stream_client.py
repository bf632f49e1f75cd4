"""Pushes N bytes up (POST /sink) or pulls N bytes down (GET /source?bytes=N) through a URL.

The upload body is generated on the fly from one 256 KiB block; the download is
counted and discarded. Prints one JSON line: direction, bytes, seconds, status.

    python stream_client.py --base http://127.0.0.1:8081 --direction up --bytes 1073741824 \
        [-H 'Authorization: Bearer k']
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import uvloop
from aiohttp import ClientSession, ClientTimeout

BLOCK = bytes(range(256)) * 1024  # 256 KiB


async def generate(total: int) -> AsyncIterator[memoryview]:
    view = memoryview(BLOCK)
    left = total
    while left > 0:
        k = min(left, len(BLOCK))
        yield view[:k]
        left -= k


async def run(base: str, direction: str, total: int, headers: dict[str, str], timeout: float) -> dict[str, Any]:
    async with ClientSession(timeout=ClientTimeout(total=timeout), auto_decompress=False) as s:
        t0 = time.perf_counter()
        if direction == "up":
            h = {**headers, "Content-Length": str(total), "Content-Type": "application/octet-stream"}
            async with s.post(base + "/sink", data=generate(total), headers=h) as r:
                body = await r.read()
                status = r.status
            seen = json.loads(body).get("bytes", -1) if status == 200 else -1
        else:
            seen = 0
            async with s.get(base + f"/source?bytes={total}", headers=headers) as r:
                status = r.status
                async for chunk in r.content.iter_any():
                    seen += len(chunk)
        dt = time.perf_counter() - t0
    return {
        "direction": direction,
        "bytes": total,
        "bytes_seen": seen,
        "status": status,
        "seconds": dt,
        "mib_s": total / dt / 2**20,
        "ok": status == 200 and seen == total,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--direction", choices=["up", "down"], required=True)
    ap.add_argument("--bytes", type=int, default=2**30)
    ap.add_argument("-H", "--header", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=180)
    args = ap.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    uvloop.install()
    try:
        out = asyncio.run(run(args.base.rstrip("/"), args.direction, args.bytes, headers, args.timeout))
    except Exception as exc:  # reported, not raised: the suite prints it as a failure
        out = {"direction": args.direction, "bytes": args.bytes, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
