"""local_runner.request_heads: what a request head must satisfy, and the URL built from it."""

from __future__ import annotations

import pytest

from gateway.headers import HeaderMap
from gateway.runtime import Request, Response
from local_runner.request_heads import Message, headers_from_raw, request_url

from .wire import echo, exchange, read_answer, serving


def message(target: str, host: str | None) -> Message:
    headers = HeaderMap([] if host is None else [("host", host)])
    return Message("GET", target, "1.1", headers, None, True)


def test_request_url_is_the_target_on_the_host_given():
    assert request_url(message("/a?b=1", "api.example:8080"), "gw.test") == "http://api.example:8080/a?b=1"


def test_request_url_of_an_absolute_form_target_keeps_only_its_path_and_query():
    assert request_url(message("http://other.example/x?y", "h"), "gw.test") == "http://h/x?y"


def test_request_url_without_host_uses_our_own():
    assert request_url(message("/p", None), "gw.test") == "http://gw.test/p"


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
