"""local_runner.upstream_client against real asyncio servers on 127.0.0.1.

Each test scripts the upstream byte for byte with ``asyncio.start_server``,
so framing, keep-alive and failure cases are exactly what the client sees.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.errors import (
    ClientFault,
    PayloadTooLarge,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
)
from gateway.headers import HeaderMap
from local_runner.bodies import UpstreamBody
from local_runner.platform import discard
from local_runner.resolver import Resolver
from local_runner.upstream_client import HIGH_WATER, HttpFetch

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


@pytest.fixture
async def fetch() -> AsyncIterator[HttpFetch]:
    client = HttpFetch(body_idle_timeout_s=2)
    yield client
    await client.close()


async def test_content_length_response_and_keep_alive_reuse(fetch):
    async with await serve(
        lambda u: keep_alive(ok(extra=b"X-Thing: caf\xe9\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"), u)
    ) as up:
        for _ in range(3):
            response = await fetch("GET", up.url + "/a", HeaderMap([("accept", "*/*")]), None)
            assert (response.status, response.reason) == (200, "OK")
            assert response.headers.get("x-thing") == "café"
            assert [v for k, v in response.headers.items() if k == "set-cookie"] == ["a=1", "b=2"]
            assert await read_all(response.body) == b"hello"
        assert up.connections == 1


async def test_request_goes_out_verbatim_with_host_and_no_added_headers(fetch):
    async with await serve(lambda u: keep_alive(ok(), u)) as up:
        response = await fetch("GET", up.url + "/a/../b/%2e%2e/%zz?q=%0d&x", HeaderMap([("x-one", "1")]), None)
        await read_all(response.body)
        port = up.url.rsplit(":", 1)[1]
        assert (
            up.heads[0]
            == f"GET /a/../b/%2e%2e/%zz?q=%0d&x HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-one: 1\r\n\r\n".encode()
        )


async def test_header_with_a_newline_is_refused_before_sending(fetch):
    with pytest.raises(ClientFault) as raised:
        await fetch("GET", "http://127.0.0.1:9/", HeaderMap([("x", "a\r\nInjected: 1")]), None)
    assert raised.value.error.status == 400


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


async def test_request_body_framing(fetch):
    async with await serve(lambda u: keep_alive(ok(), u)) as up:

        async def body() -> AsyncIterator[bytes]:
            yield b"12345"

        for method, headers, payload in [
            ("POST", [("content-length", "5")], body()),
            ("POST", [], b"bytes"),
            ("POST", [], None),
            ("DELETE", [], None),
            ("GET", [], None),
        ]:
            await read_all((await fetch(method, up.url + "/", HeaderMap(headers), payload)).body)
        heads = [h.lower() for h in up.heads]
        assert b"content-length: 5" in heads[0] and b"transfer-encoding" not in heads[0]
        assert b"content-length: 5" in heads[1]
        assert b"content-length: 0" in heads[2]
        assert b"content-length: 0" in heads[3]
        assert b"content-length" not in heads[4]
        assert up.bodies[:2] == [b"12345", b"bytes"]


async def test_client_body_failure_is_raised_instead_of_blaming_the_backend(fetch):
    class FailingBody:
        failure = None

        def __aiter__(self) -> AsyncIterator[bytes]:
            return self._chunks()

        async def _chunks(self) -> AsyncIterator[bytes]:
            yield b"some"
            self.failure = PayloadTooLarge()
            raise RuntimeError("cut")

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; the client gives up

    async with Upstream(handler) as up:
        with pytest.raises(ClientFault) as raised:
            await fetch("POST", up.url + "/", HeaderMap([("content-length", "100")]), FailingBody())
    assert isinstance(raised.value.error, PayloadTooLarge)


async def test_upstream_closing_an_idle_connection_is_retried_on_a_fresh_one(fetch):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await up.read_request(reader)
        writer.write(ok())
        await writer.drain()
        if up.connections == 1:
            # Read the next request, then close without a byte: a keep-alive
            # race the client cannot see coming (the FIN crossed the request).
            await reader.readuntil(b"\r\n\r\n")

    async with Upstream(handler) as up:
        assert await read_all((await fetch("GET", up.url + "/1", HeaderMap(), None)).body) == b"hello"
        assert await read_all((await fetch("GET", up.url + "/2", HeaderMap(), None)).body) == b"hello"
        assert up.connections == 2


async def test_connection_closed_while_idle_is_not_reused(fetch):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await up.read_request(reader)
        writer.write(ok())
        await writer.drain()  # then close: the client notices the FIN while idle

    async with Upstream(handler) as up:
        await read_all((await fetch("GET", up.url + "/1", HeaderMap(), None)).body)
        await asyncio.wait_for(up.closed.wait(), 2)
        await asyncio.sleep(0.05)
        await read_all((await fetch("GET", up.url + "/2", HeaderMap(), None)).body)
        assert up.connections == 2


async def test_post_on_a_dead_pooled_connection_is_not_retried(fetch):
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await up.read_request(reader)
        writer.write(ok())
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")  # then close without answering

    async with Upstream(handler) as up:
        await read_all((await fetch("POST", up.url + "/1", HeaderMap(), None)).body)
        with pytest.raises(UpstreamConnectError):
            await read_all((await fetch("POST", up.url + "/2", HeaderMap(), None)).body)
        assert up.connections == 1


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


async def test_refused_and_closed_before_response_are_connect_errors(fetch):
    async def closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")

    async def half_head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-")

    for handler in (closes, half_head):
        async with Upstream(handler) as up:
            url = up.url
            with pytest.raises(UpstreamConnectError):
                await fetch("GET", url + "/", HeaderMap(), None)
    with pytest.raises(UpstreamConnectError):
        await fetch("GET", url + "/", HeaderMap(), None)  # nothing listens there now
    with pytest.raises(UpstreamConnectError):
        await fetch("GET", "http://no-such-host.invalid/", HeaderMap(), None)


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


def never_answers(upstream: list[Upstream]) -> Handler:
    """Read the request, then wait for the client to close."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await upstream[0].read_request(reader)
        await reader.read()  # returns when the client closes

    return handler


async def test_cancellation_closes_the_connection(fetch):
    async with await serve(never_answers) as up:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await fetch("GET", up.url + "/", HeaderMap(), None)
        await asyncio.wait_for(up.closed.wait(), 2)


async def test_no_head_within_the_deadline_is_upstream_timeout_and_closes_the_connection(fetch):
    async with await serve(never_answers) as up:
        with pytest.raises(UpstreamTimeoutError):
            await fetch("GET", up.url + "/", HeaderMap(), None, timeout_s=0.1)
        await asyncio.wait_for(up.closed.wait(), 2)


async def test_a_head_within_the_deadline_is_answered(fetch):
    async with await serve(lambda u: keep_alive(ok(), u)) as up:
        response = await fetch("GET", up.url + "/", HeaderMap(), None, timeout_s=5)
        assert response.status == 200
        assert await read_all(response.body) == b"hello"


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


async def test_discard_reuses_a_complete_body_and_closes_an_unread_one(fetch):
    async with await serve(lambda u: keep_alive(ok(), u)) as up:
        await discard((await fetch("GET", up.url + "/", HeaderMap(), None)).body)
        await discard((await fetch("GET", up.url + "/", HeaderMap(), None)).body)
        assert up.connections == 1


# -- name lookups (local_runner.resolver) ----------------------------------------------------


async def test_a_name_whose_lookup_hangs_does_not_hold_up_another_backend():
    held = asyncio.Event()
    calls: list[str] = []

    async def lookup(host: str, port: int) -> list[str]:
        calls.append(host)
        if host == "frozen.internal":
            await held.wait()  # Docker's DNS for a killed container: no answer for 10 s
        return ["127.0.0.1"]

    client = HttpFetch(resolver=Resolver(lookup))
    try:
        async with await serve(lambda u: keep_alive(ok(), u)) as up:
            port = up.url.rsplit(":", 1)[1]
            stuck = [
                asyncio.ensure_future(client("GET", f"http://frozen.internal:{port}/", HeaderMap(), None, 0.2))
                for _ in range(5)
            ]
            response = await client("GET", f"http://alive.internal:{port}/", HeaderMap(), None, 5)
            assert response.status == 200
            assert await read_all(response.body) == b"hello"
            for request in stuck:
                with pytest.raises(UpstreamTimeoutError):
                    await request
            assert calls.count("frozen.internal") == 1
    finally:
        held.set()
        await client.close()


async def test_a_refused_connect_forgets_the_names_addresses():
    calls: list[str] = []

    async def lookup(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    client = HttpFetch(resolver=Resolver(lookup))
    try:
        async with await serve(lambda u: keep_alive(ok(), u)) as up:
            port = int(up.url.rsplit(":", 1)[1])
        # The server is gone: its port refuses. A restarted backend may be elsewhere: look it up again.
        for _ in range(2):
            with pytest.raises(UpstreamConnectError):
                await client("GET", f"http://moved.internal:{port}/", HeaderMap(), None, 5)
        assert calls == ["moved.internal", "moved.internal"]
    finally:
        await client.close()
