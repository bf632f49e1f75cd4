from local_runner.rate_limit import SharedTokenBucketLimiter, TokenBucketLimiter
from tests.unit.fakes import FakeClock


async def test_limiter_allows_a_full_bucket_then_refuses():
    limiter = TokenBucketLimiter(3, 60, FakeClock())
    assert [await limiter.allow("ip") for _ in range(4)] == [True, True, True, False]


async def test_limiter_refills_smoothly():
    clock = FakeClock()
    limiter = TokenBucketLimiter(2, 60, clock)  # one token per 30 s
    assert await limiter.allow("ip") and await limiter.allow("ip")
    clock.advance(29)
    assert not await limiter.allow("ip")
    clock.advance(2)
    assert await limiter.allow("ip")
    assert not await limiter.allow("ip")


async def test_limiter_never_holds_more_than_capacity():
    clock = FakeClock()
    limiter = TokenBucketLimiter(2, 60, clock)
    clock.advance(3600)
    assert [await limiter.allow("ip") for _ in range(3)] == [True, True, False]


async def test_limiter_buckets_are_per_key():
    limiter = TokenBucketLimiter(1, 60, FakeClock())
    assert await limiter.allow("a")
    assert not await limiter.allow("a")
    assert await limiter.allow("b")


async def test_refused_calls_do_not_consume_tokens():
    clock = FakeClock()
    limiter = TokenBucketLimiter(1, 10, clock)
    await limiter.allow("ip")
    for _ in range(5):
        assert not await limiter.allow("ip")
    clock.advance(10)
    assert await limiter.allow("ip")


async def test_idle_keys_are_pruned_past_max_keys_but_busy_ones_kept():
    clock = FakeClock()
    limiter = TokenBucketLimiter(1, 10, clock, max_keys=2)
    await limiter.allow("idle")
    clock.advance(10)  # "idle" is full again
    await limiter.allow("busy")
    await limiter.allow("new")  # third key: prune
    assert set(limiter._buckets) == {"busy", "new"}
    assert not await limiter.allow("busy")  # its spent bucket survived the prune


# -- the table every worker of ``--workers N`` shares ------------------------------------------


def shared_limiter(tmp_path, requests: int, period_s: float, clock: FakeClock, slots: int = 1024):
    table = tmp_path / "rate_limit.bin"
    if not table.exists():
        SharedTokenBucketLimiter.create(str(table), slots=slots)
    return SharedTokenBucketLimiter(str(table), requests, period_s, clock)


async def test_shared_limiter_allows_a_full_bucket_then_refuses(tmp_path):
    limiter = shared_limiter(tmp_path, 3, 60, FakeClock())
    assert [await limiter.allow("ip") for _ in range(4)] == [True, True, True, False]


async def test_shared_limiter_is_one_limit_for_every_process_mapping_the_table(tmp_path):
    clock = FakeClock()
    worker_a = shared_limiter(tmp_path, 4, 60, clock)
    worker_b = shared_limiter(tmp_path, 4, 60, clock)  # a second mapping of the same file
    answers = [await (worker_a if i % 2 else worker_b).allow("ip") for i in range(8)]
    assert answers == [True] * 4 + [False] * 4


async def test_shared_limiter_refills_smoothly(tmp_path):
    clock = FakeClock()
    limiter = shared_limiter(tmp_path, 2, 60, clock)
    assert await limiter.allow("ip") and await limiter.allow("ip")
    clock.advance(29)
    assert not await limiter.allow("ip")
    clock.advance(2)
    assert await limiter.allow("ip")


async def test_shared_limiter_buckets_are_per_key(tmp_path):
    limiter = shared_limiter(tmp_path, 1, 60, FakeClock())
    assert await limiter.allow("a")
    assert not await limiter.allow("a")
    assert await limiter.allow("b")


async def test_shared_table_never_grows_under_key_churn(tmp_path):
    limiter = shared_limiter(tmp_path, 1, 10, FakeClock(), slots=64)
    size = (tmp_path / "rate_limit.bin").stat().st_size
    for i in range(5000):
        await limiter.allow(f"10.0.{i // 256}.{i % 256}")
    assert (tmp_path / "rate_limit.bin").stat().st_size == size


async def test_shared_table_replaces_idle_keys_before_a_spent_one(tmp_path):
    clock = FakeClock()
    limiter = shared_limiter(tmp_path, 1, 10, clock, slots=16)  # one probe window: every key competes
    for i in range(15):
        await limiter.allow(f"idle-{i}")
    clock.advance(10)  # their buckets are full again: forgetting them changes nothing
    assert await limiter.allow("busy")  # the 16th slot, now spent
    for i in range(15):
        await limiter.allow(f"new-{i}")  # the table is full: each new key takes an idle one's slot
    assert not await limiter.allow("busy")  # its spent bucket survived
