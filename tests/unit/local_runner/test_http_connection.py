"""local_runner.http_connection: one client connection, over real sockets (``wire``)."""

from __future__ import annotations

import asyncio
import contextlib

from gateway.headers import HeaderMap
from gateway.runtime import Request, Response

from .wire import Streamed, echo, exchange, read_answer, serving


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


async def test_request_body_that_stops_coming_fails_as_a_request_timeout_and_the_connection_closes() -> None:
    # The server's part: the body fails with RequestTimeout (the gateway renders it as 408, see
    # tests/hardening/test_slow_clients.py) and, the body being unfinished, the answer closes the connection.
    failures: list[object] = []

    async def read_body(request: Request) -> Response:
        with contextlib.suppress(Exception):
            async for _ in request.body:
                pass
        failures.append(type(getattr(request.body, "failure", None)).__name__)
        return Response(200, HeaderMap(), b"read")

    async with serving(read_body, body_timeout_s=0.2) as (_, port):
        reader, writer = await exchange(port, b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
        status, headers, _ = await read_answer(reader)
        after = await asyncio.wait_for(reader.read(), 5)
        writer.close()
    assert failures == ["RequestTimeout"]
    assert (status, headers["connection"], after) == (200, "close", b"")


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
