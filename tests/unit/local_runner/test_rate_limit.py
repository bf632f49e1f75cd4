from local_runner.rate_limit import TokenBucketLimiter
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
