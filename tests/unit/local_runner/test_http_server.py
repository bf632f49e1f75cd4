"""local_runner.http_server over real sockets on 127.0.0.1.

The server runs in the test's loop with a plain handler function in place
of ``Gateway.handle``; the client side is ``asyncio.open_connection``, so
every byte on the wire is what the test wrote or reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.headers import HeaderMap
from gateway.runtime import Request, Response
from local_runner.bodies import UpstreamBody
from local_runner.http_server import HttpServer, headers_from_raw

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


async def test_keep_alive_connection_serves_a_second_request() -> None:
    async with serving(echo) as (_, port):
        reader, writer = await exchange(port, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        first = await read_answer(reader)
        writer.write(b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        second = await read_answer(reader)
        writer.close()
    assert first[2] == b"GET http://h/a " and second[2] == b"GET http://h/b "


async def test_pipelined_requests_are_answered_in_order() -> None:
    async def slow_first(request: Request) -> Response:
        if request.url.endswith("/1"):
            await asyncio.sleep(0.1)
        return await echo(request)

    async with serving(slow_first) as (_, port):
        reader, writer = await exchange(port, b"".join(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % n for n in (1, 2, 3)))
        bodies = [(await read_answer(reader))[2] for _ in range(3)]
        writer.close()
    assert bodies == [b"GET http://h/1 ", b"GET http://h/2 ", b"GET http://h/3 "]


async def test_chunked_request_body_reaches_the_handler_whole() -> None:
    async with serving(echo) as (_, port):
        reader, writer = await exchange(
            port, b"POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        _, _, body = await read_answer(reader)
        writer.close()
    assert body == b"POST http://h/u abcde"


async def test_expect_100_continue_is_answered_when_the_body_is_first_read() -> None:
    async with serving(echo) as (_, port):
        reader, writer = await exchange(
            port, b"POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
        )
        interim = await reader.readuntil(b"\r\n\r\n")  # sent before the client sends its body
        writer.write(b"ok")
        _, _, body = await read_answer(reader)
        writer.close()
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert body == b"POST http://h/u ok"


async def test_expect_header_is_not_handed_to_the_gateway() -> None:
    seen: list[str | None] = []

    async def record(request: Request) -> Response:
        seen.append(request.headers.get("expect"))
        return await echo(request)

    async with serving(record) as (_, port):
        reader, writer = await exchange(
            port, b"POST /u HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"
        )
        await read_answer(reader)
        writer.close()
    assert seen == [None]


async def test_streamed_answer_without_length_goes_out_chunked() -> None:
    body = Streamed([b"one", b"two"], pause_s=0.01)

    async def stream(request: Request) -> Response:
        return Response(200, HeaderMap(), body)

    async with serving(stream) as (_, port):
        reader, writer = await exchange(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        _, headers, data = await read_answer(reader)
        writer.close()
    assert headers["transfer-encoding"] == "chunked"
    assert data == b"onetwo"
    assert body.settled == "released"


async def test_streamed_answer_to_http10_ends_with_the_connection() -> None:
    async def stream(request: Request) -> Response:
        return Response(200, HeaderMap(), Streamed([b"one", b"two"]))

    async with serving(stream) as (_, port):
        reader, writer = await exchange(port, b"GET / HTTP/1.0\r\n\r\n")
        _, headers, data = await read_answer(reader)
        writer.close()
    assert "transfer-encoding" not in headers and headers["connection"] == "close"
    assert data == b"onetwo"


async def test_answer_to_head_keeps_the_length_and_sends_no_body() -> None:
    async def sized(request: Request) -> Response:
        body = Streamed([])
        return Response(200, HeaderMap([("content-length", "42")]), body)

    async with serving(sized) as (_, port):
        reader, writer = await exchange(
            port, b"HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        head = await reader.readuntil(b"\r\n\r\n")
        following = await reader.readuntil(b"\r\n\r\n")  # the next answer starts right after the head
        writer.close()
    assert b"content-length: 42\r\n" in head
    assert following.startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    ],
    ids=["host-twice", "content-length-twice", "no-host", "obs-fold"],
)
async def test_malformed_request_gets_json_400_and_a_closed_connection(request_bytes: bytes) -> None:
    handled: list[Request] = []

    async def record(request: Request) -> Response:
        handled.append(request)
        return await echo(request)

    async with serving(record) as (_, port):
        reader, writer = await exchange(port, request_bytes)
        status, headers, body = await read_answer(reader)
        rest = await reader.read()
        writer.close()
    assert (status, headers["content-type"], rest) == (400, "application/json", b"")
    assert b'"code":"bad_request"' in body
    assert handled == []


async def test_head_larger_than_the_limit_gets_431_before_it_is_complete() -> None:
    async with serving(echo, max_head_bytes=1024) as (_, port):
        # No blank line: the head never ends, yet the answer comes.
        reader, writer = await exchange(port, b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 2000)
        status, _, body = await read_answer(reader)
        writer.close()
    assert status == 431 and b'"code":"headers_too_large"' in body


async def test_client_going_away_cancels_its_request() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def hang(request: Request) -> Response:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("not cancelled")

    async with serving(hang) as (_, port):
        _, writer = await exchange(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        await started.wait()
        writer.close()
        async with asyncio.timeout(5):
            await cancelled.wait()


async def test_request_body_that_stops_coming_fails_with_408() -> None:
    failures: list[object] = []

    async def read_body(request: Request) -> Response:
        with contextlib.suppress(Exception):
            async for _ in request.body:
                pass
        failures.append(type(getattr(request.body, "failure", None)).__name__)
        return Response(408, HeaderMap(), b"")

    async with serving(read_body, body_timeout_s=0.2) as (_, port):
        reader, writer = await exchange(port, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        status, headers, _ = await read_answer(reader)
        writer.close()
    assert failures == ["RequestTimeout"]
    assert status == 408 and headers["connection"] == "close"


async def test_answer_sent_before_the_body_reads_the_rest_and_keeps_the_connection() -> None:
    async def early(request: Request) -> Response:
        return Response(401, HeaderMap(), b"no")

    async with serving(early) as (_, port):
        reader, writer = await exchange(port, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc")
        first = await read_answer(reader)
        writer.write(b"defGET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        second = await read_answer(reader)
        writer.close()
    assert first[0] == 401 and second[0] == 401


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


async def test_header_value_with_a_line_break_is_never_written() -> None:
    async def forge(request: Request) -> Response:
        return Response(200, HeaderMap([("x-a", "b\r\nx-forged: 1")]), b"")

    async with serving(forge) as (_, port):
        reader, writer = await exchange(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        status, headers, _ = await read_answer(reader)
        writer.close()
    assert status == 500 and "x-forged" not in headers


async def test_host_that_is_not_a_host_is_replaced_by_our_own() -> None:
    async with serving(echo) as (_, port):
        reader, writer = await exchange(port, b"GET /p HTTP/1.1\r\nHost: evil/path@x\r\n\r\n")
        _, _, body = await read_answer(reader)
        writer.close()
    assert body == b"GET http://gw.test/p "


def test_headers_from_raw_decodes_latin1_and_keeps_repeats() -> None:
    raw = [(b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"X-Name", "café".encode("latin-1"))]
    headers = headers_from_raw(raw)
    assert [v for k, v in headers.items() if k == "set-cookie"] == ["a=1", "b=2"]
    assert headers.get("x-name") == "café"
