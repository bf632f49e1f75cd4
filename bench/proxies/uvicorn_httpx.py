"""A minimal streaming reverse proxy as a raw ASGI app: uvicorn in front, httpx behind.

This is what "FastAPI-style proxy with httpx" boils down to without a framework.
Run: UPSTREAM_URL=http://127.0.0.1:8080 uvicorn uvicorn_httpx:app --loop uvloop --http httptools
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# RFC 9110 §7.6.1: connection-specific fields never forwarded by a proxy.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)

client = httpx.AsyncClient(
    base_url=os.environ["UPSTREAM_URL"],
    timeout=None,
    limits=httpx.Limits(max_connections=None, max_keepalive_connections=256),
)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
    headers = [(k, v) for k, v in scope["headers"] if k not in HOP_BY_HOP and k != b"host"]
    has_body = any((k == b"content-length" and v != b"0") or k == b"transfer-encoding" for k, v in scope["headers"])

    async def body() -> AsyncIterator[bytes]:
        while True:
            msg = await receive()
            if msg.get("body"):
                yield msg["body"]
            if not msg.get("more_body"):
                return

    path = scope["raw_path"].decode("latin-1")
    if scope["query_string"]:
        path += "?" + scope["query_string"].decode("latin-1")
    req = client.build_request(scope["method"], path, headers=headers, content=body() if has_body else None)
    resp = await client.send(req, stream=True)
    try:
        await send(
            {
                "type": "http.response.start",
                "status": resp.status_code,
                "headers": [(k, v) for k, v in resp.headers.raw if k.lower() not in HOP_BY_HOP],
            }
        )
        async for chunk in resp.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        await resp.aclose()
