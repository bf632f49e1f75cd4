"""gateway.workers.defer: work past the response, under the asking request's ``waitUntil``."""

import asyncio

from gateway.workers.defer import defer, request_ctx, retrieve


class Ctx:
    def __init__(self) -> None:
        self.promises: list[object] = []

    def waitUntil(self, promise):
        self.promises.append(promise)


async def test_defer_inside_a_request_hands_a_promise_to_its_wait_until():
    ctx, done = Ctx(), asyncio.Event()

    async def work() -> None:
        done.set()

    token = request_ctx.set(ctx)
    try:
        defer(work())
    finally:
        request_ctx.reset(token)
    assert len(ctx.promises) == 1
    await asyncio.wait_for(done.wait(), 5)


async def test_defer_outside_a_request_still_runs_the_work():
    done = asyncio.Event()

    async def work() -> None:
        done.set()

    defer(work())
    await asyncio.wait_for(done.wait(), 5)


async def test_retrieve_of_a_cancelled_task_does_not_raise():
    task = asyncio.ensure_future(asyncio.sleep(30))
    task.cancel()
    await asyncio.wait([task])
    retrieve(task)
    assert task.cancelled()
