"""local_runner.upstream_client (HttpFetch): requests out, retries, deadlines and failures, against scripted upstreams.

Each test scripts the upstream byte for byte with ``asyncio.start_server``,
so framing, keep-alive and failure cases are exactly what the client sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.errors import (
    ClientFault,
    PayloadTooLarge,
    UpstreamConnectError,
    UpstreamTimeoutError,
)
from gateway.headers import HeaderMap
from local_runner.resolver import Resolver
from local_runner.upstream_client import HttpFetch

from .scripted_upstream import Handler, Upstream, keep_alive, ok, read_all, serve


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
