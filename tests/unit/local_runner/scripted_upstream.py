"""Scripted upstreams on 127.0.0.1 for the tests of the twin's outbound client.

Each test scripts the upstream byte for byte with ``asyncio.start_server``,
so framing, keep-alive and failure cases are exactly what the client sees.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from local_runner.bodies import UpstreamBody

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Upstream:
    """A scripted upstream: records each connection and each request head."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.closed = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Upstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        # Handlers still blocked in a read would keep wait_closed() waiting.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self._handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self.closed.set()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """Read one request head and its body (Content-Length or chunked)."""
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        lower = head.lower()
        body = b""
        if b"content-length:" in lower:
            length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
        elif b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                body += await reader.readexactly(size + 2)
                body = body[:-2]
                if size == 0:  # no trailers: the "\r\n" just read ends the body
                    break
        self.bodies.append(body)
        return head


def ok(body: bytes = b"hello", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def keep_alive(reply: bytes, upstream: list[Upstream]) -> Handler:
    """Answer every request on the connection with ``reply``."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await upstream[0].read_request(reader)
            writer.write(reply)
            await writer.drain()

    return handler


async def read_all(body: UpstreamBody) -> bytes:
    data = b"".join([chunk async for chunk in body.chunks()])
    body.release()
    return data


async def serve(handler_factory: Callable[[list[Upstream]], Handler]) -> Upstream:
    holder: list[Upstream] = []
    upstream = Upstream(handler_factory(holder))
    holder.append(upstream)
    return upstream
