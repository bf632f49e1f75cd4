"""local_runner.responses: an answer's head bytes and the twin's own JSON errors."""

from __future__ import annotations

import json

from gateway.errors import HeadersTooLarge
from gateway.headers import HeaderMap
from gateway.runtime import Request, Response
from local_runner.responses import error_bytes, response_head

from .wire import exchange, read_answer, serving


def test_response_head_adds_a_date_and_closes_when_not_kept():
    head = response_head(200, "", HeaderMap([("x-a", "1")]), False, "1.1")
    assert head.startswith(b"HTTP/1.1 200 OK\r\nx-a: 1\r\ndate: ")
    assert head.endswith(b"connection: close\r\n\r\n")


def test_response_head_keeps_an_upstream_date_and_says_keep_alive_to_http10():
    head = response_head(204, "Fine", HeaderMap([("date", "then")]), True, "1.0")
    assert head == b"HTTP/1.1 204 Fine\r\ndate: then\r\nconnection: keep-alive\r\n\r\n"


def test_error_bytes_is_a_json_error_that_closes_the_connection():
    data = error_bytes(HeadersTooLarge())
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ") and b"connection: close" in head
    assert json.loads(body)["error"]["code"] == "headers_too_large"


async def test_header_value_with_a_line_break_is_never_written() -> None:
    async def forge(request: Request) -> Response:
        return Response(200, HeaderMap([("x-a", "b\r\nx-forged: 1")]), b"")

    async with serving(forge) as (_, port):
        reader, writer = await exchange(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        status, headers, _ = await read_answer(reader)
        writer.close()
    assert status == 500 and "x-forged" not in headers
