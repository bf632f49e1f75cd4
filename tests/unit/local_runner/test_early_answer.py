"""An upstream that answers before reading the whole request body (415, 422, 400 from a backend).

The twin's upstream client was still sending the client's body (``bodies.ClientBody``)
when the answer came; releasing the answer cancels that sender, and the server
then lingers until the rest of the body arrives (``HttpConnection._linger``). Both
wait on the body's one ``bodies.Waker``: the sender's cancellation must not take
the lingering server's wake-up with it, or the connection sits out the whole
lingering time before it serves the client's next request.
"""

from __future__ import annotations

import asyncio

from gateway.headers import HeaderMap
from gateway.runtime import Request, Response
from local_runner.bodies import ClientBody, UpstreamBody

from .wire import exchange, read_answer, serving


class _Flow:
    """``bodies.BodyFlow`` for a body fed by the test itself."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()

    def pause_body(self, paused: bool) -> None:
        pass

    def send_continue(self) -> None:
        pass


async def _read_all(body: ClientBody, reading: asyncio.Event) -> None:
    reading.set()
    async for _ in body:
        pass


async def test_lingering_wait_wakes_when_the_body_ends_after_its_sender_was_cancelled() -> None:
    body = ClientBody(_Flow())
    reading = asyncio.Event()
    sender = asyncio.create_task(_read_all(body, reading))
    await reading.wait()  # the sender now waits for the body's next piece
    # The answer came first: the server starts lingering, and the upstream client's
    # sender is cancelled in the same step (tasks start in the order they are scheduled,
    # so the lingering wait begins before the sender's cancellation runs).
    body.discard()
    arrived = asyncio.create_task(body.arrived())
    sender.cancel()
    await asyncio.wait({sender})
    body.finish()  # the rest of the body comes in
    async with asyncio.timeout(5):
        await arrived
    assert body.done


class _EarlyAnswer(UpstreamBody):
    """An upstream answer already in whole, whose release stops the request body's sender."""

    def __init__(self, sender: asyncio.Task[None]) -> None:
        self._sender = sender

    def whole(self) -> bytes | None:
        return b'{"error": {}}'

    def close(self) -> None:
        self._sender.cancel()

    def release(self) -> None:
        self._sender.cancel()  # as upstream_connection.Connection.finished() does


async def test_next_request_is_served_when_the_body_ends_after_an_early_answer() -> None:
    async def answer_before_the_body(request: Request) -> Response:
        if request.body is None:
            return Response(200, HeaderMap(), b"again")
        assert isinstance(request.body, ClientBody)
        reading = asyncio.Event()
        sender = asyncio.create_task(_read_all(request.body, reading))
        await reading.wait()
        return Response(415, HeaderMap(), _EarlyAnswer(sender))

    # Lingering far longer than the deadline below: a lost wake-up shows as a timeout.
    async with serving(answer_before_the_body, lingering_time_s=60) as (_, port):
        reader, writer = await exchange(port, b"POST /tasks HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabc")
        first = await read_answer(reader)
        writer.write(b"defGET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        async with asyncio.timeout(5):
            second = await read_answer(reader)
        writer.close()
    assert (first[0], second[:3:2]) == (415, (200, b"again"))
