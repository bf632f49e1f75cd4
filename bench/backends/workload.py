"""The GTD workload: a fixed dataset, the operations a GTD app performs, two profiles, a load loop.

Operations (the contract in backends/contract/openapi.yaml):

    capture        POST /tasks                  a new inbox item
    list_status    GET /tasks?status=S          one list of the app (next, inbox, waiting)
    list_filtered  GET /tasks?status=next&context=C | &project_id=P
    get            GET /tasks/{id}
    update         PATCH /tasks/{id}            title and notes
    move           PATCH /tasks/{id}            to another project
    complete       PATCH /tasks/{id}            status done
    delete         DELETE /tasks/{id}           one of the captured tasks (keeps the size steady)
    projects       GET /projects
    project        GET /projects/{id}

The dataset is made from one seed, so every backend holds the same content
(ids are the servers'). Most seeded tasks are done, as in a GTD list kept for
a while, so a list by status is a realistic fraction of the whole. These
lists are read whole, without `limit`, as a v1 client does, so their cost
grows with the dataset; the paged reads of contract v2 (`limit`, `cursor`,
`/counts`) are timed at 10,000 tasks by large.py.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

STATUSES = (("done", 60), ("next", 10), ("inbox", 8), ("waiting", 6), ("scheduled", 6), ("someday", 10))
CONTEXTS = ("@home", "@work", "@phone", "@errands", "@computer")

#: operation → weight, per profile.
PROFILES: dict[str, dict[str, int]] = {
    "read-heavy": {
        "list_status": 22,
        "list_filtered": 18,
        "get": 32,
        "projects": 5,
        "project": 5,
        "capture": 5,
        "update": 5,
        "move": 2,
        "complete": 2,
        "delete": 4,
    },
    "write-heavy": {
        "capture": 20,
        "delete": 18,
        "update": 16,
        "move": 10,
        "complete": 10,
        "get": 10,
        "list_status": 7,
        "list_filtered": 5,
        "projects": 2,
        "project": 2,
    },
}


@dataclass
class Dataset:
    """What one backend holds: the seeded ids, and the tasks captured during the run."""

    tasks: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    captured: list[str] = field(default_factory=list)


class BenchError(RuntimeError):
    pass


async def _send(
    session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    async with session.request(method, url, headers=headers, json=body) as response:
        data = await response.read()
        if response.content_type == "application/json" and data:
            return response.status, await response.json(content_type=None)
        return response.status, None


async def seed(
    session: aiohttp.ClientSession,
    base: str,
    headers: dict[str, str],
    tasks: int,
    *,
    concurrency: int = 32,
    seed_value: int = 42,
    progress: Callable[[int], None] = lambda n: None,
) -> Dataset:
    """Create ``tasks`` tasks and ``max(5, tasks // 100)`` projects through the API, ``concurrency`` at once."""
    rng = random.Random(seed_value)
    data = Dataset()
    project_count = max(5, tasks // 100)
    for i in range(project_count):
        status, doc = await _send(session, "POST", f"{base}/projects", headers, {"name": f"Project {i}"})
        if status != 201:
            raise BenchError(f"seeding a project failed: {status} {doc}")
        data.projects.append(doc["id"])
    names, weights = zip(*STATUSES, strict=True)
    bodies: list[dict[str, Any]] = []
    for i in range(tasks):
        body: dict[str, Any] = {"title": f"Task {i}: {rng.choice(('call', 'write', 'buy', 'plan', 'fix'))} something"}
        body["status"] = rng.choices(names, weights)[0]
        if rng.random() < 0.6:
            body["project_id"] = rng.choice(data.projects)
        if rng.random() < 0.5:
            body["context"] = rng.choice(CONTEXTS)
        if rng.random() < 0.3:
            body["notes"] = "Some notes. " * rng.randint(1, 8)
        bodies.append(body)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker() -> None:
        while True:
            try:
                body = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            status, doc = await _send(session, "POST", f"{base}/tasks", headers, body)
            if status != 201:
                raise BenchError(f"seeding a task failed: {status} {doc}")
            data.tasks.append(doc["id"])
            progress(1)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return data


@dataclass
class Sample:
    """What one operation did in one cell.

    ``latencies`` (seconds) are those completed inside the recorded window;
    ``completed`` and ``errors`` count every request of the cell, warm-up and
    tail included: a failure is one whenever it happens, and a cell whose
    requests all outlast a short window still shows that it did work.
    """

    latencies: list[float] = field(default_factory=list)
    completed: int = 0
    errors: int = 0


Op = Callable[[aiohttp.ClientSession, str, dict[str, str], Dataset, random.Random], Awaitable[bool]]


async def _expect(
    session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], status: int, body: Any = None
) -> tuple[bool, Any]:
    got, doc = await _send(session, method, url, headers, body)
    return got == status, doc


async def op_capture(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    ok, doc = await _expect(s, "POST", f"{base}/tasks", h, 201, {"title": f"Captured {rng.randrange(10**9)}"})
    if ok:
        d.captured.append(doc["id"])
    return ok


async def op_list_status(
    s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random
) -> bool:
    status = rng.choice(("next", "inbox", "waiting"))
    return (await _expect(s, "GET", f"{base}/tasks?status={status}", h, 200))[0]


async def op_list_filtered(
    s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random
) -> bool:
    if rng.random() < 0.5:
        query = f"status=next&context={rng.choice(CONTEXTS)}"
    else:
        query = f"status=next&project_id={rng.choice(d.projects)}"
    return (await _expect(s, "GET", f"{base}/tasks?{query}", h, 200))[0]


async def op_get(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    return (await _expect(s, "GET", f"{base}/tasks/{rng.choice(d.tasks)}", h, 200))[0]


async def op_update(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    body = {"title": f"Renamed {rng.randrange(10**6)}", "notes": "Edited in the benchmark."}
    return (await _expect(s, "PATCH", f"{base}/tasks/{rng.choice(d.tasks)}", h, 200, body))[0]


async def op_move(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    body = {"project_id": rng.choice(d.projects)}
    return (await _expect(s, "PATCH", f"{base}/tasks/{rng.choice(d.tasks)}", h, 200, body))[0]


async def op_complete(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    return (await _expect(s, "PATCH", f"{base}/tasks/{rng.choice(d.tasks)}", h, 200, {"status": "done"}))[0]


async def op_delete(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    if not d.captured:  # nothing captured yet to delete: capture instead (counted as delete's cost)
        return await op_capture(s, base, h, d, rng)
    task_id = d.captured.pop(rng.randrange(len(d.captured)))
    return (await _expect(s, "DELETE", f"{base}/tasks/{task_id}", h, 204))[0]


async def op_projects(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    return (await _expect(s, "GET", f"{base}/projects", h, 200))[0]


async def op_project(s: aiohttp.ClientSession, base: str, h: dict[str, str], d: Dataset, rng: random.Random) -> bool:
    return (await _expect(s, "GET", f"{base}/projects/{rng.choice(d.projects)}", h, 200))[0]


OPS: dict[str, Op] = {
    "capture": op_capture,
    "list_status": op_list_status,
    "list_filtered": op_list_filtered,
    "get": op_get,
    "update": op_update,
    "move": op_move,
    "complete": op_complete,
    "delete": op_delete,
    "projects": op_projects,
    "project": op_project,
}


@dataclass
class CellRun:
    """One cell's samples; ``wall_s`` is the recorded time, ``client_cpu_s`` this process's CPU over it."""

    samples: dict[str, Sample]
    wall_s: float
    client_cpu_s: float


async def run_cell(
    session: aiohttp.ClientSession,
    base: str,
    headers: dict[str, str],
    data: Dataset,
    profile: str,
    concurrency: int,
    duration_s: float,
    *,
    seed_value: int,
    warmup_s: float = 0.0,
) -> CellRun:
    """``concurrency`` closed-loop workers run the profile's mix for ``warmup_s`` (not recorded), then ``duration_s``."""
    names = list(PROFILES[profile])
    weights = [PROFILES[profile][n] for n in names]
    samples = {name: Sample() for name in names}
    loop = asyncio.get_running_loop()
    measure_from = loop.time() + warmup_s
    stop_at = measure_from + duration_s

    async def worker(index: int) -> None:
        rng = random.Random(seed_value * 1000 + index)
        while loop.time() < stop_at:
            name = rng.choices(names, weights)[0]
            started = time.perf_counter()
            try:
                ok = await OPS[name](session, base, headers, data, rng)
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
                ok = False
            sample = samples[name]
            sample.completed += 1
            if not ok:
                sample.errors += 1
            # Timed when it completes inside the window, so req/s is completions per second.
            if measure_from <= loop.time() <= stop_at:
                sample.latencies.append(time.perf_counter() - started)

    cpu0 = time.process_time()
    workers = asyncio.gather(*(worker(i) for i in range(concurrency)))
    # CPU and wall time are taken over the whole cell, warm-up included (the share is what matters).
    wall0 = time.perf_counter()
    await workers
    wall = time.perf_counter() - wall0
    share = (time.process_time() - cpu0) / wall if wall else 0.0
    return CellRun(samples, duration_s, share * duration_s)
