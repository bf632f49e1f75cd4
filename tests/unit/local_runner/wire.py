"""The twin's HTTP server over real sockets on 127.0.0.1, for the tests of its modules.

The server runs in the test's loop with a plain handler function in place
of ``Gateway.handle``; the client side is ``asyncio.open_connection``, so
every byte on the wire is what the test wrote or reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from gateway.headers import HeaderMap
from gateway.runtime import Request, Response
from local_runner.bodies import UpstreamBody
from local_runner.http_server import HttpServer

Handle = Callable[[Request], Awaitable[Response]]


class Streamed(UpstreamBody):
    """An upstream body given as a list of chunks, with a pause before each."""

    def __init__(self, chunks: list[bytes], pause_s: float = 0.0) -> None:
        self._chunks = chunks
        self._pause_s = pause_s
        self.settled: str | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            await asyncio.sleep(self._pause_s)
            yield chunk

    def close(self) -> None:
        self.settled = "closed"

    def release(self) -> None:
        self.settled = "released"


async def echo(request: Request) -> Response:
    """Answers with the method, target and the whole request body."""
    body = b""
    if request.body is not None:
        body = b"".join([chunk async for chunk in request.body])
    text = f"{request.method} {request.url} ".encode() + body
    return Response(200, HeaderMap([("content-type", "text/plain")]), text)


@contextlib.asynccontextmanager
async def serving(handle: Handle, **options: float) -> AsyncIterator[tuple[HttpServer, int]]:
    server = HttpServer(handle, own_host="gw.test", log=lambda line: None, **options)  # type: ignore[arg-type]
    listener = await asyncio.get_running_loop().create_server(server, "127.0.0.1", 0)
    try:
        yield server, listener.sockets[0].getsockname()[1]
    finally:
        listener.close()
        await server.shutdown(1.0)


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One answer: status, headers, body (by Content-Length, chunked, or to the close)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if status == 100:
        return await read_answer(reader)
    if "content-length" in headers:
        return status, headers, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += (await reader.readexactly(size + 2))[:-2]
        await reader.readexactly(2)
        return status, headers, body
    return status, headers, await reader.read()


async def exchange(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    return reader, writer
