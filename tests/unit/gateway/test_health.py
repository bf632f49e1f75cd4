import asyncio
import dataclasses
import json

import pytest

from gateway.backends import Backend
from gateway.errors import BackendUnhealthy, UpstreamConnectError, UpstreamProtocolError
from gateway.headers import HeaderMap
from gateway.health import HealthMonitor, url_digest
from gateway.runtime import Response
from gateway.settings import Settings
from tests.unit.fakes import WALL_START, FakeKV, Harness, fail, gated, respond

BUN = Backend("bun-sqlite", "Bun", "http://bun.internal:3000", "local")
D1 = Backend(
    "cf-d1",
    "D1",
    "https://d1.example.com",
    "cloud",
    health_path="/health",
    upstream_headers=(("cf-access-client-id", "id-1"), ("cf-access-client-secret", "sec-1")),
)


KEY = "health:bun-sqlite@local"


def shared(status: str, checked_at: float, latency_ms: float | None = None, backend: Backend = BUN) -> str:
    return json.dumps(
        {"status": status, "checked_at": checked_at, "latency_ms": latency_ms, "target": url_digest(backend)}
    )


def monitor(h: Harness, **env: str) -> HealthMonitor:
    return HealthMonitor(Settings.from_env({"ENVIRONMENT": "local", **env}), h.platform)


async def test_first_request_waits_for_one_health_check():
    h = Harness.local()
    await monitor(h).gate(BUN)
    (check,) = h.upstream.calls
    assert (check.method, check.url, check.body) == ("GET", "http://bun.internal:3000/health", None)
    assert check.header("accept") == "application/json"


async def test_health_check_uses_the_backend_health_path():
    h = Harness.local()
    h.upstream.health_paths = {"/base/ready"}
    await monitor(h).gate(Backend("x", "X", "http://x:1/base", "local", health_path="/ready"))
    assert [c.url for c in h.upstream.health_checks] == ["http://x:1/base/ready"]


async def test_health_check_sends_the_backend_credentials():
    h = Harness.local()
    await monitor(h).gate(D1)
    (check,) = h.upstream.calls
    assert check.header("cf-access-client-id") == "id-1"
    assert check.header("cf-access-client-secret") == "sec-1"


async def test_health_check_body_is_discarded():
    h = Harness.local()
    body = object()
    h.upstream.health = respond(200, body=body)
    await monitor(h).gate(BUN)
    assert h.discarded == [body]


async def test_fresh_healthy_result_is_reused_without_a_round_trip():
    h = Harness.local()
    m = monitor(h, HEALTH_TTL_S="30")
    await m.gate(BUN)
    h.clock.advance(29)
    await m.gate(BUN)
    await m.gate(BUN)
    assert len(h.upstream.calls) == 1


async def test_result_is_cached_per_location():
    h = Harness.local()
    m = monitor(h)
    await m.gate(BUN)
    await m.gate(Backend("bun-sqlite", "Bun", "https://bun.example.com", "cloud"))
    assert [c.host for c in h.upstream.calls] == ["bun.internal:3000", "bun.example.com"]


@pytest.mark.parametrize("status", [500, 503, 404, 301])
async def test_non_2xx_health_answer_is_unhealthy(status):
    h = Harness.local()
    h.upstream.health = respond(status)
    with pytest.raises(BackendUnhealthy) as err:
        await monitor(h).gate(BUN)
    assert err.value.status == 503
    assert err.value.code == "backend_unhealthy"


@pytest.mark.parametrize("exc", [UpstreamConnectError, UpstreamProtocolError, RuntimeError])
async def test_failed_health_check_is_unhealthy_and_logged(exc):
    h = Harness.local()
    h.upstream.health = fail(exc, "http://bun.internal:3000 said no")
    with pytest.raises(BackendUnhealthy):
        await monitor(h).gate(BUN)
    (event,) = h.logs.events("health_check_failed")
    assert event["backend"] == "bun-sqlite@local"
    assert event["error"] == exc.__name__


async def test_health_check_has_its_own_timeout():
    h = Harness.local()
    h.upstream.health = h.upstream.hang()
    with pytest.raises(BackendUnhealthy):
        await monitor(h, HEALTH_TIMEOUT_MS="50").gate(BUN)
    assert h.upstream.cancelled == 1


async def test_unhealthy_result_is_not_rechecked_before_retry_interval():
    h = Harness.local()
    h.upstream.health = respond(503)
    m = monitor(h, HEALTH_RETRY_S="5")
    with pytest.raises(BackendUnhealthy):
        await m.gate(BUN)
    h.clock.advance(4)
    with pytest.raises(BackendUnhealthy):
        await m.gate(BUN)
    assert len(h.upstream.calls) == 1


async def test_unhealthy_backend_is_rechecked_after_retry_interval_and_recovers():
    h = Harness.local()
    h.upstream.health = respond(503)
    m = monitor(h, HEALTH_RETRY_S="5")
    with pytest.raises(BackendUnhealthy):
        await m.gate(BUN)
    h.upstream.health = respond(200)
    h.clock.advance(5)
    await m.gate(BUN)
    assert len(h.upstream.calls) == 2


async def test_concurrent_first_requests_share_one_check():
    h = Harness.local()
    release = asyncio.Event()
    h.upstream.health = gated(release)
    m = monitor(h)
    waiting = [asyncio.ensure_future(m.gate(BUN)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*waiting)
    assert len(h.upstream.calls) == 1


def unshared() -> tuple[Harness, HealthMonitor, asyncio.Event]:
    """A monitor on a runtime whose requests cannot share waits (workerd), its checks held until the event is set."""
    h = Harness.local()
    h.platform = dataclasses.replace(h.platform, shared_waits=False)
    release = asyncio.Event()
    h.upstream.health = gated(release)
    return h, monitor(h), release


async def test_where_requests_cannot_share_waits_each_waiting_request_checks_itself():
    # workerd: a request awaiting a check another request started would never be woken.
    h, m, release = unshared()
    waiting = [asyncio.ensure_future(m.gate(BUN)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*waiting)
    assert len(h.upstream.health_checks) == 3


async def test_where_requests_cannot_share_waits_the_listing_checks_itself_too():
    h, m, release = unshared()
    first = asyncio.ensure_future(m.gate(BUN))
    await asyncio.sleep(0)
    listing = asyncio.ensure_future(m.current(BUN))
    await asyncio.sleep(0)
    release.set()
    await first
    assert (await listing).healthy
    assert len(h.upstream.health_checks) == 2


async def test_an_own_check_leaves_the_shared_one_registered():
    # The registered check is the one later callers find; a request's own check must not unregister it.
    _, m, release = unshared()
    first = asyncio.ensure_future(m.gate(BUN))
    await asyncio.sleep(0)
    registered = m._checks[f"{BUN.key} {BUN.url}"]
    second = asyncio.ensure_future(m.gate(BUN))
    await asyncio.sleep(0)
    assert m._checks[f"{BUN.key} {BUN.url}"] is registered
    release.set()
    await asyncio.gather(first, second)
    assert m._checks == {}


async def test_concurrent_requests_share_the_recheck_of_an_unhealthy_backend():
    # "No result, or a stale unhealthy one → the request waits for a check";
    # requests arriving while that check runs must share it, not get the old
    # unhealthy answer.
    h = Harness.local()
    h.upstream.health = respond(503)
    m = monitor(h, HEALTH_RETRY_S="5")
    with pytest.raises(BackendUnhealthy):
        await m.gate(BUN)
    h.clock.advance(6)
    release = asyncio.Event()
    h.upstream.health = gated(release, 200)
    waiting = [asyncio.ensure_future(m.gate(BUN)) for _ in range(3)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert results == [None, None, None]
    assert len(h.upstream.calls) == 2


async def test_stale_healthy_result_is_served_while_one_background_check_runs():
    h = Harness.local()
    m = monitor(h, HEALTH_TTL_S="30")
    await m.gate(BUN)
    h.clock.advance(31)
    release = asyncio.Event()
    h.upstream.health = gated(release, 200)
    await asyncio.wait_for(m.gate(BUN), 1)  # does not wait for the check
    await asyncio.wait_for(m.gate(BUN), 1)
    await asyncio.sleep(0)
    assert len(h.upstream.calls) == 2  # the first check, then one re-check
    release.set()
    await h.deferred.drain()
    assert m.last(BUN).checked_at == WALL_START + 31


async def test_background_recheck_that_fails_marks_unhealthy_for_later_requests():
    h = Harness.local()
    m = monitor(h, HEALTH_TTL_S="30")
    await m.gate(BUN)
    h.clock.advance(31)
    h.upstream.health = respond(500)
    await m.gate(BUN)
    await h.deferred.drain()
    with pytest.raises(BackendUnhealthy):
        await m.gate(BUN)


async def test_mark_unhealthy_fails_the_next_request_without_a_check():
    h = Harness.local()
    m = monitor(h)
    await m.gate(BUN)
    m.mark_unhealthy(BUN)
    with pytest.raises(BackendUnhealthy):
        await m.gate(BUN)
    assert len(h.upstream.calls) == 1
    assert m.last(BUN).status == "unhealthy"


async def test_last_reports_status_time_and_latency():
    h = Harness.local()
    m = monitor(h)
    assert m.last(BUN) is None
    await m.gate(BUN)
    last = m.last(BUN)
    assert (last.status, last.checked_at) == ("healthy", WALL_START)
    assert last.latency_ms is not None and last.latency_ms >= 0


async def test_result_is_shared_through_kv_with_check_time_inside():
    kv = FakeKV()
    h = Harness.local(kv=kv)
    await monitor(h, HEALTH_TTL_S="10").gate(BUN)
    await h.deferred.drain()
    doc = json.loads(kv.data["health:bun-sqlite@local"])
    assert doc["status"] == "healthy"
    assert doc["checked_at"] == WALL_START
    assert kv.ttls["health:bun-sqlite@local"] >= 60


async def test_fresh_result_from_kv_avoids_a_check():
    kv = FakeKV({KEY: shared("healthy", WALL_START - 5, 3)})
    h = Harness.local(kv=kv)
    await monitor(h).gate(BUN)
    assert h.upstream.calls == []


async def test_fresh_unhealthy_result_from_kv_fails_without_a_check():
    kv = FakeKV({KEY: shared("unhealthy", WALL_START - 1)})
    h = Harness.local(kv=kv)
    with pytest.raises(BackendUnhealthy):
        await monitor(h).gate(BUN)
    assert h.upstream.calls == []


async def test_result_in_kv_for_another_url_is_ignored():
    moved = Backend("bun-sqlite", "Bun", "http://elsewhere.internal:3000", "local")
    kv = FakeKV({KEY: shared("unhealthy", WALL_START - 1, backend=moved)})
    h = Harness.local(kv=kv)
    await monitor(h).gate(BUN)
    assert len(h.upstream.calls) == 1


async def test_stale_result_in_kv_still_triggers_a_check():
    kv = FakeKV({KEY: shared("unhealthy", WALL_START - 3600)})
    h = Harness.local(kv=kv)
    await monitor(h).gate(BUN)
    assert len(h.upstream.calls) == 1


@pytest.mark.parametrize("raw", ["not json", "{}", "[]"])
async def test_garbage_in_kv_is_ignored(raw):
    h = Harness.local(kv=FakeKV({"health:bun-sqlite@local": raw}))
    await monitor(h).gate(BUN)
    assert len(h.upstream.calls) == 1
    assert h.logs.events("health_kv_error")


async def test_failing_kv_does_not_fail_the_request():
    kv = FakeKV()
    kv.failing = True
    h = Harness.local(kv=kv)
    await monitor(h).gate(BUN)
    await h.deferred.drain()
    assert len(h.upstream.calls) == 1
    assert h.logs.events("health_kv_error")


async def test_passive_mark_is_shared_through_kv():
    kv = FakeKV()
    h = Harness.local(kv=kv)
    monitor(h).mark_unhealthy(BUN)
    await h.deferred.drain()
    assert json.loads(kv.data["health:bun-sqlite@local"])["status"] == "unhealthy"


async def two_instances(grace_s: float | None = None) -> list[tuple[Harness, HealthMonitor]]:
    """Two instances sharing one KV (30 s TTL), trusting an adopted result ``grace_s`` longer; the second adopted the first's check."""
    kv = FakeKV()
    settings = Settings.from_env({"ENVIRONMENT": "local", "HEALTH_TTL_S": "30"})
    pairs = []
    for _ in range(2):
        h = Harness.local(kv=kv)
        pairs.append((h, HealthMonitor(settings, h.platform, adopted_grace_s=grace_s)))
    for h, m in pairs:
        await m.gate(BUN)
        await h.deferred.drain()
    return pairs


async def traffic(pairs: list[tuple[Harness, HealthMonitor]], steps: int, step_s: float) -> int:
    """Both instances gate a request every ``step_s``, checks finishing within the step; total checks."""
    for _ in range(steps):
        for h, m in pairs:
            h.clock.advance(step_s)
            await m.gate(BUN)
        for h, _ in pairs:
            await h.deferred.drain()
    return sum(len(h.upstream.health_checks) for h, _ in pairs)


async def test_instances_sharing_kv_make_one_check_per_ttl_not_one_each():
    pairs = await two_instances()  # the default grace: 1 s at a 30 s TTL
    for h, _ in pairs:
        h.clock.advance(28.5)
    assert await traffic(pairs, 250, 0.01) == 2  # the first, and the checker's re-check at the expiry
    assert pairs[1][0].upstream.health_checks == []


async def test_instances_sharing_kv_keep_one_checker_over_many_ttls():
    pairs = await two_instances()
    assert await traffic(pairs, 40, 3.0) == 1 + 4  # 120 s: the first check, then one per 30 s
    assert pairs[1][0].upstream.health_checks == []


async def test_instances_without_the_grace_would_each_check():
    # The contrast that makes the tests above mean something: no grace, a re-check each.
    pairs = await two_instances(grace_s=0.0)
    assert await traffic(pairs, 1, 30) == 3


@pytest.mark.parametrize("age_s", [-1, 1])  # newer, and older, than this instance's own check
async def test_shown_result_is_the_one_shared_through_kv(age_s):
    kv = FakeKV()
    h = Harness.local(kv=kv)
    m = monitor(h)
    await m.gate(BUN)
    kv.data[KEY] = shared("unhealthy", WALL_START - age_s)
    shown = await m.shown(BUN)
    assert shown is not None and (shown.status, shown.checked_at) == ("unhealthy", WALL_START - age_s)


async def test_shown_result_without_kv_is_this_instances():
    h = Harness.local()
    m = monitor(h)
    assert await m.shown(BUN) is None
    await m.gate(BUN)
    assert await m.shown(BUN) == m.last(BUN)


# What the listing shows (current) ------------------------------------------------------------


async def test_current_checks_an_entry_never_checked():
    h = Harness.local()
    result = await monitor(h).current(BUN)
    assert result.status == "healthy"
    assert len(h.upstream.health_checks) == 1


async def test_current_waits_for_the_recheck_of_a_stale_healthy_result_instead_of_showing_it():
    h = Harness.local()
    m = monitor(h, HEALTH_TTL_S="30")
    await m.gate(BUN)
    h.clock.advance(30)
    h.upstream.health = respond(503)
    assert (await m.current(BUN)).status == "unhealthy"


async def test_current_shares_the_check_a_request_started():
    h = Harness.local()
    release = asyncio.Event()
    h.upstream.health = gated(release)
    m = monitor(h)
    waiting = [asyncio.ensure_future(m.gate(BUN)), asyncio.ensure_future(m.current(BUN))]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*waiting)
    assert len(h.upstream.calls) == 1


async def test_current_shows_a_fresh_result_from_kv_without_a_check():
    kv = FakeKV({KEY: shared("unhealthy", WALL_START - 1)})
    h = Harness.local(kv=kv)
    assert (await monitor(h).current(BUN)).status == "unhealthy"
    assert h.upstream.calls == []


async def test_current_all_checks_concurrently_so_a_hung_backend_never_holds_up_the_others():
    h = Harness.local()
    bun_in_flight = asyncio.Event()
    cancelled_when_d1_answered: list[int] = []

    async def health(call):
        if call.host == "bun.internal:3000":
            bun_in_flight.set()
            await asyncio.Event().wait()  # hung
        # D1 answers only while bun's check is still running: the two run side by side.
        await bun_in_flight.wait()
        cancelled_when_d1_answered.append(h.upstream.cancelled)
        return Response(200, HeaderMap(), b"")

    h.upstream.health = health
    m = monitor(h, HEALTH_TIMEOUT_MS="50")
    results = await m.current_all([BUN, D1])
    assert [r.status for r in results] == ["unhealthy", "healthy"]
    assert cancelled_when_d1_answered == [0]
    assert h.upstream.timeouts == [0.05, 0.05]  # each check bounded by HEALTH_TIMEOUT_MS


# Passive 5xx (observe) ------------------------------------------------------------------------


async def test_observe_marks_unhealthy_at_the_setting_and_not_before():
    h = Harness.local()
    m = monitor(h, OUTLIER_CONSECUTIVE_5XX="2")
    await m.gate(BUN)
    m.observe(BUN, 500)
    assert m.last(BUN).healthy
    m.observe(BUN, 503)
    assert not m.last(BUN).healthy


async def test_observe_below_500_ends_the_streak():
    h = Harness.local()
    m = monitor(h, OUTLIER_CONSECUTIVE_5XX="2")
    await m.gate(BUN)
    for status in (500, 404, 500, 200, 500):
        m.observe(BUN, status)
    assert m.last(BUN).healthy


async def test_observe_counts_per_entry():
    h = Harness.local()
    m = monitor(h, OUTLIER_CONSECUTIVE_5XX="2")
    await m.gate(BUN)
    await m.gate(D1)
    m.observe(BUN, 500)
    m.observe(D1, 500)
    assert m.last(BUN).healthy and m.last(D1).healthy
