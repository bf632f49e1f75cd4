"""local_runner.resolver: one lookup per name at a time, answers kept briefly, failures not kept."""

from __future__ import annotations

import asyncio
import socket

import pytest

from local_runner.resolver import Resolver


class Lookups:
    """A scripted ``lookup``: counts calls per name; a name in ``held`` waits for ``release``."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self.held: set[str] = set()
        self.release = asyncio.Event()

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host in self.held:
            await self.release.wait()
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_lookups_of_one_name_share_one_call():
    lookups = Lookups({"bun-sqlite": ["10.0.0.2"]})
    lookups.held.add("bun-sqlite")
    resolver = Resolver(lookups)
    waiting = [asyncio.ensure_future(resolver.addresses("bun-sqlite", 3001)) for _ in range(5)]
    await asyncio.sleep(0)
    lookups.release.set()
    assert await asyncio.gather(*waiting) == [["10.0.0.2"]] * 5
    assert lookups.calls == ["bun-sqlite"]


async def test_a_hung_lookup_does_not_hold_up_another_name():
    lookups = Lookups({"ruby-sqlite": ["10.0.0.3"], "bun-sqlite": ["10.0.0.2"]})
    lookups.held.add("ruby-sqlite")
    resolver = Resolver(lookups)
    hung = [asyncio.ensure_future(resolver.addresses("ruby-sqlite", 3003)) for _ in range(10)]
    assert await resolver.addresses("bun-sqlite", 3001) == ["10.0.0.2"]
    assert lookups.calls.count("ruby-sqlite") == 1
    lookups.release.set()
    await asyncio.gather(*hung)


async def test_an_answer_is_kept_for_the_cache_time_then_looked_up_again():
    lookups = Lookups({"bun-sqlite": ["10.0.0.2"]})
    clock = Clock()
    resolver = Resolver(lookups, cache_s=5, clock=clock)
    await resolver.addresses("bun-sqlite", 3001)
    clock.now += 4.9
    await resolver.addresses("bun-sqlite", 3001)
    assert lookups.calls == ["bun-sqlite"]
    clock.now += 0.2
    await resolver.addresses("bun-sqlite", 3001)
    assert lookups.calls == ["bun-sqlite", "bun-sqlite"]


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_kept():
    lookups = Lookups({})
    lookups.held.add("gone")
    resolver = Resolver(lookups)
    waiting = [asyncio.ensure_future(resolver.addresses("gone", 80)) for _ in range(3)]
    await asyncio.sleep(0)
    lookups.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, socket.gaierror) for result in results)
    with pytest.raises(socket.gaierror):
        await resolver.addresses("gone", 80)
    assert lookups.calls == ["gone", "gone"]


async def test_a_caller_giving_up_leaves_the_lookup_to_the_others():
    lookups = Lookups({"bun-sqlite": ["10.0.0.2"]})
    lookups.held.add("bun-sqlite")
    resolver = Resolver(lookups)
    impatient = asyncio.ensure_future(resolver.addresses("bun-sqlite", 3001))
    patient = asyncio.ensure_future(resolver.addresses("bun-sqlite", 3001))
    await asyncio.sleep(0)
    impatient.cancel()
    lookups.release.set()
    assert await patient == ["10.0.0.2"]
    assert impatient.cancelled()


async def test_an_address_literal_is_never_looked_up():
    lookups = Lookups({})
    resolver = Resolver(lookups)
    assert await resolver.addresses("127.0.0.1", 80) == ["127.0.0.1"]
    assert await resolver.addresses("::1", 80) == ["::1"]
    assert lookups.calls == []


async def test_forget_drops_the_kept_answer():
    lookups = Lookups({"bun-sqlite": ["10.0.0.2"]})
    resolver = Resolver(lookups)
    await resolver.addresses("bun-sqlite", 3001)
    resolver.forget("bun-sqlite", 3001)
    await resolver.addresses("bun-sqlite", 3001)
    assert lookups.calls == ["bun-sqlite", "bun-sqlite"]
