"""gateway.workers.bodies: shadow capture and reads of the gateway's bytes and of JS streams."""

from types import SimpleNamespace

from gateway.workers.bodies import capture, read

from .conftest import JSNULL, JsObject


class Reader:
    """A ``ReadableStreamDefaultReader`` over fixed chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)
        self.cancelled = False

    async def read(self) -> SimpleNamespace:
        if not self._chunks:
            return SimpleNamespace(done=True, value=None)
        data = self._chunks.pop(0)
        return SimpleNamespace(done=False, value=SimpleNamespace(to_bytes=lambda: data))

    async def cancel(self) -> None:
        self.cancelled = True


def stream(chunks: list[bytes]) -> tuple[JsObject, Reader]:
    reader = Reader(chunks)
    return JsObject(getReader=lambda: reader), reader


async def test_capture_of_bytes_within_the_limit_keeps_the_body_and_copies_it():
    body, copy = capture(b"abc", 3)
    assert body == b"abc"
    assert await copy == b"abc"


async def test_capture_of_bytes_past_the_limit_gives_no_copy():
    _, copy = capture(b"abcd", 3)
    assert await copy is None


async def test_read_of_an_absent_body_is_empty():
    assert await read(JSNULL, 10) == b""


async def test_read_joins_a_streams_chunks():
    body, _ = stream([b"ab", b"cd"])
    assert await read(body, 10) == b"abcd"


async def test_read_past_the_limit_cancels_the_stream_and_gives_none():
    body, reader = stream([b"ab", b"cd"])
    assert await read(body, 3) is None
    assert reader.cancelled
