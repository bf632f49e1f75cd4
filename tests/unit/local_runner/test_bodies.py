"""The twin's Platform.capture/read (shadow traffic): copies taken as chunks pass, never ahead."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.errors import PayloadTooLarge
from local_runner.bodies import CapturedBody, UpstreamBody, capture, read


class FakeBody(UpstreamBody):
    __slots__ = ("_chunks", "state")

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = chunks
        self.state = "open"

    async def chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk

    def close(self) -> None:
        self.state = "closed"

    def release(self) -> None:
        self.state = "released"


async def test_captured_upstream_body_streams_the_same_chunks_and_keeps_a_copy():
    inner = FakeBody(b"ab", b"cd")
    body, copy = capture(inner, 10)
    assert isinstance(body, CapturedBody)
    assert [chunk async for chunk in body.chunks()] == [b"ab", b"cd"]
    body.release()
    assert await copy == b"abcd"
    assert inner.state == "released"


async def test_copy_is_none_when_the_body_outgrows_the_limit_or_is_cut_off():
    long_body, long_copy = capture(FakeBody(b"abc", b"def"), 4)
    assert [chunk async for chunk in long_body.chunks()] == [b"abc", b"def"]
    assert await long_copy is None
    cut, cut_copy = capture(FakeBody(b"abc"), 10)
    cut.close()
    assert await cut_copy is None


async def test_captured_request_stream_passes_the_client_failure_through():
    class Client:
        failure = PayloadTooLarge()

        async def __aiter__(self):
            yield b"x"

    body, copy = capture(Client(), 10)
    assert isinstance(body.failure, PayloadTooLarge)
    assert [chunk async for chunk in body] == [b"x"]
    assert await copy == b"x"


async def test_read_releases_a_whole_body_and_closes_a_long_one():
    whole = FakeBody(b"a", b"b")
    assert await read(whole, 2) == b"ab"
    assert whole.state == "released"
    long = FakeBody(b"abc")
    assert await read(long, 2) is None
    assert long.state == "closed"
    assert await read(None, 0) == b""
