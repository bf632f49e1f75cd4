"""Health that tells the truth, on every runtime: passive 5xx marking and a listing that checks for itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.upstream import FaultServer, hang, ok

from .conftest import assert_error, local_settings

UPSTREAMS = ("steady", "failing", "wobbly", "picky", "idle", "calm")
#: Bounds a poll, never asserted: a frozen backend must turn unhealthy in HEALTH_TTL_S + HEALTH_TIMEOUT_MS.
POLL_DEADLINE_S = 30


@pytest.fixture(scope="module")
def gw(launch, upstreams):
    """Results stay fresh for the whole module: only real traffic (5xx) changes them."""
    return launch(local_settings(upstreams, "steady", HEALTH_TTL_S="300", HEALTH_RETRY_S="300"))


@pytest.fixture(scope="module")
def freezer(runtime: str) -> Iterator[FaultServer]:
    """A backend a test can freeze: its routes are swapped for ``hang`` (like SIGSTOP: connects, never answers)."""
    server = FaultServer({"/health": ok})
    with server:
        yield server


@pytest.fixture(scope="module")
def quick_gw(launch, upstreams, freezer):
    """Short TTLs, so the listing re-checks within the test."""
    return launch(
        {
            "ENVIRONMENT": "local",
            "DEFAULT_BACKEND": "calm",
            "BACKEND_CALM_URL": upstreams["calm"].url,
            "BACKEND_FROZEN_URL": freezer.state.url,
            "HEALTH_TTL_S": "2",
            "HEALTH_RETRY_S": "1",
            "HEALTH_TIMEOUT_MS": "500",
        }
    )


def listed(gw, **kw) -> dict[str, dict]:
    """``/_gateway/backends`` as backend id → its local entry's health."""
    response = gw.get("/_gateway/backends", **kw)
    assert response.status_code == 200, response.text
    return {b["id"]: b["locations"]["local"]["health"] for b in response.json()["backends"]}


def send(gw, backend: str, statuses: list[int]) -> None:
    """One request per status; the backend answers each with it (its /status/<code> route)."""
    for status in statuses:
        response = gw.get(f"/status/{status}", headers={"x-backend": backend})
        assert response.status_code == status, response.text


# -- passive 5xx (OUTLIER_CONSECUTIVE_5XX, default 5) ---------------------------------------------


def test_five_consecutive_5xx_answers_mark_the_backend_unhealthy(gw, upstreams):
    send(gw, "failing", [500, 503, 500, 502, 500])
    assert_error(gw.get("/after-5xx", headers={"x-backend": "failing"}), 503, "backend_unhealthy")
    assert upstreams["failing"].hits("/after-5xx") == 0
    health = listed(gw)
    assert health["failing"]["status"] == "unhealthy"
    assert health["steady"]["status"] == "healthy"


def test_a_2xx_between_5xx_answers_resets_the_count(gw, upstreams):
    send(gw, "wobbly", [500, 500, 500, 500, 200, 500, 500, 500, 500])
    assert gw.get("/still-used", headers={"x-backend": "wobbly"}).status_code == 200
    assert upstreams["wobbly"].hits("/still-used") == 1


def test_4xx_answers_never_count(gw, upstreams):
    send(gw, "picky", [404, 400, 409, 422, 404, 400, 404])
    assert gw.get("/still-used", headers={"x-backend": "picky"}).status_code == 200
    assert listed(gw)["picky"]["status"] == "healthy"


# -- the listing checks for itself ------------------------------------------------------------------


def test_the_listing_checks_entries_no_request_has_used(gw, upstreams):
    # No test sends a request to "idle": only the listing itself can have checked it.
    health = listed(gw)["idle"]
    assert health["status"] == "healthy"
    assert health["checked_at"] is not None
    assert upstreams["idle"].hits("/health") == 1
    assert upstreams["idle"].requests() == upstreams["idle"].requests("/health")


def test_a_hung_backend_turns_unhealthy_in_the_listing_while_the_other_stays_healthy(quick_gw, freezer):
    before = listed(quick_gw)
    assert (before["frozen"]["status"], before["calm"]["status"]) == ("healthy", "healthy")
    freezer.routes["/"] = hang
    freezer.routes["/health"] = hang
    try:
        deadline = time.monotonic() + POLL_DEADLINE_S
        while True:
            health = listed(quick_gw)
            # The other backend is never shown unknown or unhealthy because one is stuck.
            assert health["calm"]["status"] == "healthy", health
            if health["frozen"]["status"] == "unhealthy":
                break
            assert time.monotonic() < deadline, f"frozen backend still shown {health['frozen']}"
    finally:
        freezer.routes["/"] = ok
        freezer.routes["/health"] = ok


def test_requests_waiting_on_one_health_check_all_answer(quick_gw, freezer):
    # Concurrent requests for an entry whose unhealthy result went stale all wait for a check. On
    # workerd a request must not await a check another request started: it is never woken, and
    # workerd cancels it as hung (a 500). Each must get its own answer: 503 for the frozen entry,
    # the listing 200 with the entry unhealthy.
    freezer.routes["/"] = hang
    freezer.routes["/health"] = hang
    try:
        deadline = time.monotonic() + POLL_DEADLINE_S
        while listed(quick_gw)["frozen"]["status"] != "unhealthy":
            assert time.monotonic() < deadline, "frozen backend never shown unhealthy"
        # HEALTH_RETRY_S=1: once the result is a second old, the next requests wait for a re-check.
        stale_at = listed(quick_gw)["frozen"]["checked_at"] + 1.2
        while time.time() < stale_at:
            time.sleep(0.05)
        with ThreadPoolExecutor(max_workers=6) as pool:
            gated = [pool.submit(quick_gw.get, "/tasks", headers={"x-backend": "frozen"}) for _ in range(4)]
            listings = [pool.submit(quick_gw.get, "/_gateway/backends") for _ in range(2)]
            for future in gated:
                assert_error(future.result(), 503, "backend_unhealthy")
            for future in listings:
                response = future.result()
                assert response.status_code == 200, response.text
    finally:
        freezer.routes["/"] = ok
        freezer.routes["/health"] = ok
