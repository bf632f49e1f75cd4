"""A minimal streaming reverse proxy: aiohttp server, uvloop, one shared outbound client.

It is the "best Python peer" in the benchmark suite (with --client aiohttp) and the
test subject of bench/client_choice.py, which swaps only the outbound client:

    aiohttp        aiohttp.ClientSession used directly
    httpx          httpx.AsyncClient, default transport (httpcore), pool sized for the load
    httpx-default  httpx.AsyncClient(), default transport and default pool limits
                   (max_keepalive_connections=20)
    httpx-aiohttp  httpx.AsyncClient with httpx_aiohttp.AiohttpTransport

Bodies are streamed both ways; nothing is buffered beyond one chunk.
Usage: python aiohttp_proxy.py --port 8081 --upstream http://127.0.0.1:8080 [--client aiohttp]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import AsyncIterator

import uvloop
from aiohttp import ClientSession, ClientTimeout, TCPConnector, web
from multidict import CIMultiDict

# RFC 9110 §7.6.1: connection-specific fields never forwarded by a proxy.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "proxy-authenticate", "proxy-authorization",
})
CHUNK = 64 * 1024


def forward_headers(headers) -> CIMultiDict:  # type: ignore[no-untyped-def]
    out = CIMultiDict()
    for k, v in headers.items():
        lk = k.lower()
        if lk not in HOP_BY_HOP and lk != "host":
            out.add(k, v)
    return out


def response_headers(headers) -> CIMultiDict:  # type: ignore[no-untyped-def]
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP)


def has_body(request: web.Request) -> bool:
    return request.can_read_body


async def write_stream(request: web.Request, status: int, headers: CIMultiDict,
                       chunks: AsyncIterator[bytes]) -> web.StreamResponse:
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
                auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        data = request.content.iter_chunked(CHUNK) if has_body(request) else None
        async with session.request(request.method, upstream + request.path_qs,
                                   headers=forward_headers(request.headers), data=data,
                                   allow_redirects=False) as up:
            return await write_stream(request, up.status, response_headers(up.headers),
                                      up.content.iter_any())

    return handler


def make_httpx_handler(upstream: str, kind: str):  # type: ignore[no-untyped-def]
    import httpx

    if kind == "httpx-default":
        client = httpx.AsyncClient(base_url=upstream, timeout=None)
    else:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
        transport = None
        if kind == "httpx-aiohttp":
            from httpx_aiohttp import AiohttpTransport
            transport = AiohttpTransport(limits=limits)
        client = httpx.AsyncClient(base_url=upstream, timeout=None, limits=limits,
                                   transport=transport)

    async def handler(request: web.Request) -> web.StreamResponse:
        content = request.content.iter_chunked(CHUNK) if has_body(request) else None
        req = client.build_request(request.method, request.path_qs,
                                   headers=list(forward_headers(request.headers).items()),
                                   content=content)
        up = await client.send(req, stream=True)
        try:
            return await write_stream(request, up.status_code, response_headers(up.headers),
                                      up.aiter_raw())
        finally:
            await up.aclose()

    return handler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--client", default="aiohttp",
                    choices=["aiohttp", "httpx", "httpx-default", "httpx-aiohttp"])
    args = ap.parse_args()
    upstream = args.upstream.rstrip("/")
    handler = (make_aiohttp_handler(upstream) if args.client == "aiohttp"
               else make_httpx_handler(upstream, args.client))
    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", handler)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None,
                handle_signals=True, backlog=4096)


if __name__ == "__main__":
    main()
