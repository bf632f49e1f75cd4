import asyncio

from local_runner.platform import Tasks


async def test_tasks_keep_deferred_work_until_done():
    tasks = Tasks()
    done = []

    async def work():
        await asyncio.sleep(0)
        done.append(1)

    tasks(work())
    await tasks.drain(1)
    assert done == [1]
