"""A minimal streaming reverse proxy: aiohttp server, uvloop, one shared aiohttp.ClientSession.

It is the "best Python peer" in the benchmark suite. Bodies are streamed both ways;
nothing is buffered beyond one chunk.
Usage: python aiohttp_proxy.py --port 8081 --upstream http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Mapping

import uvloop
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from multidict import CIMultiDict

# RFC 9110 §7.6.1: connection-specific fields never forwarded by a proxy.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
    }
)
CHUNK = 64 * 1024


def forward_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for k, v in headers.items():
        lk = k.lower()
        if lk not in HOP_BY_HOP and lk != "host":
            out.add(k, v)
    return out


def response_headers(headers: Mapping[str, str]) -> CIMultiDict[str]:
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP)


def has_body(request: web.Request) -> bool:
    return request.can_read_body


async def write_stream(
    request: web.Request, status: int, headers: CIMultiDict[str], chunks: AsyncIterator[bytes]
) -> web.StreamResponse:
    resp = web.StreamResponse(status=status, headers=headers)
    await resp.prepare(request)
    async for chunk in chunks:
        await resp.write(chunk)
    await resp.write_eof()
    return resp


def make_aiohttp_handler(upstream: str):  # type: ignore[no-untyped-def]
    session: ClientSession | None = None

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal session
        if session is None:
            session = ClientSession(
                connector=TCPConnector(limit=0, ttl_dns_cache=None),
                timeout=ClientTimeout(total=None, sock_connect=5),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        data = request.content.iter_chunked(CHUNK) if has_body(request) else None
        async with session.request(
            request.method,
            upstream + request.path_qs,
            headers=forward_headers(request.headers),
            data=data,
            allow_redirects=False,
        ) as up:
            return await write_stream(request, up.status, response_headers(up.headers), up.content.iter_any())

    return handler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    args = ap.parse_args()
    upstream = args.upstream.rstrip("/")
    handler = make_aiohttp_handler(upstream)
    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", handler)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None, handle_signals=True, backlog=4096)


if __name__ == "__main__":
    main()
