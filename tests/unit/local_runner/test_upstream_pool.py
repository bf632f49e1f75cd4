"""local_runner.upstream_pool: where an origin is, and reuse of its idle connections."""

from __future__ import annotations

import asyncio

import pytest

from gateway.errors import (
    UpstreamProtocolError,
)
from gateway.headers import HeaderMap
from local_runner.platform import discard
from local_runner.upstream_pool import Origin

from .scripted_upstream import Upstream, keep_alive, ok, read_all, serve


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


async def test_discard_reuses_a_complete_body_and_closes_an_unread_one(fetch):
    async with await serve(lambda u: keep_alive(ok(), u)) as up:
        await discard((await fetch("GET", up.url + "/", HeaderMap(), None)).body)
        await discard((await fetch("GET", up.url + "/", HeaderMap(), None)).body)
        assert up.connections == 1


def test_origin_strips_userinfo_and_reads_the_default_port():
    origin = Origin("https", "user:pw@api.example", None)
    assert (origin.host, origin.port, origin.host_header) == ("api.example", 443, "api.example")


def test_origin_reads_a_bracketed_ipv6_host_and_its_port():
    origin = Origin("http", "[::1]:8080", None)
    assert (origin.host, origin.port) == ("::1", 8080)


@pytest.mark.parametrize("scheme, netloc", [("ftp", "h"), ("http", ""), ("http", "h:port")])
def test_origin_refuses_what_it_cannot_connect_to(scheme, netloc):
    with pytest.raises(UpstreamProtocolError):
        Origin(scheme, netloc, None)
