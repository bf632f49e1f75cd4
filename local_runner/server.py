"""The twin's HTTP server: native aiohttp requests ⇄ the core's views.

This module only converts. Everything the gateway decides happens in
``gateway.app.on_fetch``, the same function the Worker calls.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from aiohttp import web
from multidict import CIMultiDict

from gateway.runtime import Platform, Request, Response

from .runtime import CHUNK, UpstreamBody, headers_from_raw

OnFetch = Callable[[Request, Mapping[str, str], Platform], Awaitable[Response]]

# RFC 9110 §7.2 host = uri-host [ ":" port ]; anything else (a path, userinfo,
# spaces) would corrupt the URL we build, so it is replaced by our address.
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


class GatewayHandler:
    """aiohttp low-level handler that serves ``on_fetch``."""

    def __init__(self, on_fetch: OnFetch, env: Mapping[str, str], platform: Platform, own_host: str) -> None:
        self._on_fetch = on_fetch
        self._env = env
        self._platform = platform
        self._own_host = own_host

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        view = Request(
            method=request.method,
            url=self._url(request),
            headers=headers_from_raw(request.raw_headers),
            body=_client_body(request) if request.body_exists else None,
            client_ip=request.remote,
        )
        response = await self._on_fetch(view, self._env, self._platform)
        return await _send(request, response)

    def _url(self, request: web.BaseRequest) -> str:
        target = request.raw_path
        if not target.startswith("/"):
            # absolute-form ("http://other/x") or asterisk-form ("*"): keep
            # only the path and query; the host is never taken from here.
            parts = urlsplit(target)
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            if not target.startswith("/"):
                target = "/" + target
        host = request.headers.get("host", "")
        if not _HOST.fullmatch(host):
            host = self._own_host
        return f"http://{host}{target}"


async def _client_body(request: web.BaseRequest) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(CHUNK):
        yield chunk


async def _send(request: web.BaseRequest, response: Response) -> web.StreamResponse:
    headers = CIMultiDict(response.headers.items())
    body = response.body
    if not isinstance(body, UpstreamBody):
        return web.Response(status=response.status, reason=response.reason or None, headers=headers, body=body)
    stream = web.StreamResponse(status=response.status, reason=response.reason or None, headers=headers)
    try:
        await stream.prepare(request)
        async for chunk in body.chunks():
            await stream.write(chunk)
        await stream.write_eof()
    except BaseException:
        # Client gone, upstream broken, or cancelled: drop the upstream
        # connection rather than return a half-read one to the pool.
        body.close()
        raise
    body.release()
    return stream
