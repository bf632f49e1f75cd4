"""local_runner.http_server: the server's own part, shutdown, over real sockets (``wire``)."""

from __future__ import annotations

import asyncio

from gateway.headers import HeaderMap
from gateway.runtime import Request, Response

from .wire import exchange, read_answer, serving


async def test_shutdown_lets_an_answer_in_flight_finish_and_closes_after_it() -> None:
    started = asyncio.Event()

    async def slow(request: Request) -> Response:
        started.set()
        await asyncio.sleep(0.2)
        return Response(200, HeaderMap(), b"done")

    async with serving(slow) as (server, port):
        reader, writer = await exchange(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await started.wait()
        await server.shutdown(5.0)
        status, headers, body = await read_answer(reader)
        writer.close()
    assert (status, body, headers["connection"]) == (200, b"done", "close")
