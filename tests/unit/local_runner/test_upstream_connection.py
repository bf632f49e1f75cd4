"""local_runner.upstream_connection: response framing, bodies, flow control and failures, against scripted upstreams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.errors import (
    UpstreamProtocolError,
)
from gateway.headers import HeaderMap
from local_runner.upstream_client import HttpFetch
from local_runner.upstream_connection import HIGH_WATER

from .scripted_upstream import Upstream, keep_alive, ok, read_all, serve


async def test_chunked_response_and_chunked_request_body(fetch):
    reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    async with await serve(lambda u: keep_alive(reply, u)) as up:

        async def body() -> AsyncIterator[bytes]:
            yield b"part1-"
            yield b""
            yield b"part2"

        response = await fetch("POST", up.url + "/up", HeaderMap(), body())
        assert await read_all(response.body) == b"abcde"
        assert b"transfer-encoding: chunked" in up.heads[0]
        assert up.bodies[0] == b"part1-part2"
        # The connection is reused after a chunked exchange.
        response = await fetch("GET", up.url + "/again", HeaderMap(), None)
        assert await read_all(response.body) == b"abcde"
        assert up.connections == 1


async def test_body_until_close(fetch):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await up.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n\r\nto the ")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"end")

    async with Upstream(handler) as up:
        assert await read_all((await fetch("GET", up.url + "/", HeaderMap(), None)).body) == b"to the end"


@pytest.mark.parametrize(
    "method, reply, status",
    [
        ("HEAD", b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n", 200),
        ("HEAD", b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", 200),
        ("HEAD", b"HTTP/1.1 200 OK\r\n\r\n", 200),
        ("GET", b"HTTP/1.1 204 No Content\r\n\r\n", 204),
        ("GET", b"HTTP/1.1 304 Not Modified\r\ncontent-length: 1000\r\n\r\n", 304),
        ("GET", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204),
    ],
)
async def test_replies_without_a_body_end_at_once_and_keep_the_connection(fetch, method, reply, status):
    async with await serve(lambda u: keep_alive(reply, u)) as up:
        for _ in range(2):
            response = await fetch(method, up.url + "/", HeaderMap(), None)
            assert response.status == status
            assert await asyncio.wait_for(read_all(response.body), 1) == b""
        assert up.connections == 1


async def test_100_continue_is_skipped(fetch):
    async with await serve(lambda u: keep_alive(b"HTTP/1.1 100 Continue\r\n\r\n" + ok(), u)) as up:
        response = await fetch("GET", up.url + "/", HeaderMap(), None)
        assert response.status == 200
        assert await read_all(response.body) == b"hello"


@pytest.mark.parametrize(
    "reply", [b"garbage\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nbad header\r\n\r\n"]
)
async def test_garbage_is_a_protocol_error(fetch, reply):
    async with await serve(lambda u: keep_alive(reply, u)) as up:
        with pytest.raises(UpstreamProtocolError):
            await fetch("GET", up.url + "/", HeaderMap(), None)


async def test_reset_mid_body_and_stall_raise_connection_reset(fetch):
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")

    async def bad_chunk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
        await reader.read()

    async def stalls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nsome")
        await reader.read()

    client = HttpFetch(body_idle_timeout_s=0.2)
    for handler, message in ((short, "ended early"), (bad_chunk, "invalid"), (stalls, "stalled")):
        async with Upstream(handler) as up:
            response = await client("GET", up.url + "/", HeaderMap(), None)
            received = []
            with pytest.raises(ConnectionResetError, match=message):
                async for chunk in response.body.chunks():
                    received.append(chunk)
            response.body.close()
            assert b"".join(received) in (b"partial", b"abc", b"some")
    await client.close()


async def test_large_body_is_read_with_flow_control(fetch):
    size = 8 * HIGH_WATER

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        for _ in range(size // 65536):
            writer.write(b"x" * 65536)
            await writer.drain()
        await reader.read()

    async with Upstream(big) as up:
        response = await fetch("GET", up.url + "/", HeaderMap(), None)
        total = 0
        largest = 0
        async for chunk in response.body.chunks():
            total += len(chunk)
            largest = max(largest, len(chunk))
            await asyncio.sleep(0.01)  # a slow client: the upstream must be held back
        response.body.release()
        assert total == size
        assert largest <= HIGH_WATER + 256 * 1024  # at most one socket read past the mark


async def test_connection_close_and_http10_are_not_reused(fetch):
    replies = iter([ok(extra=b"connection: close\r\n"), b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok", ok()])

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await up.read_request(reader)
        writer.write(next(replies))
        await writer.drain()
        await reader.read()

    async with Upstream(handler) as up:
        for _ in range(3):
            await read_all((await fetch("GET", up.url + "/", HeaderMap(), None)).body)
        assert up.connections == 3
