"""Shadow traffic on both runtimes: the client is answered as usual, a copy goes to a second backend.

The copy runs after the answer (``ctx.waitUntil`` on Workers, a task on the
twin), so the tests wait for what the shadow backend received, for the
counters at ``/_gateway/shadow`` and for ``shadow_*`` log lines. A shadow
backend that hangs or answers garbage must change nothing for the client.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.support.upstream import Upstream

from .conftest import assert_error, echo, local_settings

UPSTREAMS = ("primary", "mirror", "drift", "hang", "garbage")
SHADOW_TIMEOUT_MS = 4000
API_KEY = "shadow-test-key-0123456789"


@pytest.fixture(scope="module")
def backends(upstreams) -> dict[str, Upstream]:
    # Ignored fields (SHADOW_IGNORE_FIELDS' defaults) differ; nothing else does.
    upstreams["mirror"].echo_extra = {"id": "mirror-7", "created_at": "2030-01-01"}
    upstreams["drift"].echo_extra = {"flavour": "drift"}
    upstreams["hang"].mode = "hang"
    upstreams["garbage"].mode = "garbage"
    return upstreams


def backend_env(backends: dict[str, Upstream]) -> dict[str, str]:
    return local_settings(backends, "primary")


@pytest.fixture(scope="module")
def gw(launch, backends):
    return launch({**backend_env(backends), "SHADOW_WRITES": "true", "SHADOW_TIMEOUT_MS": str(SHADOW_TIMEOUT_MS)})


@pytest.fixture(scope="module")
def keyed(launch, backends):
    """Every request shadowed to ``mirror`` by the setting, behind an API key."""
    return launch({**backend_env(backends), "SHADOW_BACKEND": "mirror", "API_KEY": API_KEY})


def eventually(check: Callable[[], object], timeout_s: float = 15.0) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def counters(gw, headers: dict[str, str] | None = None) -> dict[str, int]:
    response = gw.get("/_gateway/shadow", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["counters"]


def events_for(gw, event: str, request_id: str) -> list[dict]:
    return [e for e in gw.events(event) if e.get("request_id") == request_id]


def test_shadow_copy_goes_to_the_second_backend_after_the_answer(gw, backends):
    before = counters(gw)
    response = gw.get("/shadow/read?x=1", headers={"x-backend-shadow": "mirror", "x-request-id": "shadow-read-1"})
    body = echo(response)
    assert "id" not in body  # the client's answer is the primary's
    assert response.headers["x-backend"] == "primary"
    mirror, primary = backends["mirror"], backends["primary"]
    assert eventually(lambda: mirror.hits("/shadow/read"))
    copy = mirror.last("/shadow/read")
    assert copy.target == "/shadow/read?x=1"
    assert copy.headers["x-request-id"] == "shadow-read-1-shadow"
    assert "x-backend-shadow" not in copy.headers
    original = primary.last("/shadow/read")
    assert original.headers["x-request-id"] == "shadow-read-1"
    assert "x-backend-shadow" not in original.headers
    assert eventually(lambda: counters(gw)["compared"] > before["compared"])
    after = counters(gw)
    assert after["equal"] == before["equal"] + 1  # id/created_at are ignored
    assert after["status_only"] == before["status_only"]  # the bodies were compared too
    assert after["differing"] == before["differing"]


def test_divergence_is_logged_with_both_request_ids_and_the_paths(gw):
    response = gw.get("/shadow/drift", headers={"x-backend-shadow": "drift", "x-request-id": "shadow-drift-1"})
    echo(response)
    found = eventually(lambda: events_for(gw, "shadow_divergence", "shadow-drift-1"))
    assert found, gw.output()[-2000:]
    (event,) = found
    assert event["shadow_request_id"] == "shadow-drift-1-shadow"
    assert event["shadow_backend"] == "drift"
    assert event["paths"] == ["$.flavour"]
    assert event["diff"] == [{"path": "$.flavour", "primary": "<absent>", "shadow": "drift"}]


def test_write_is_shadowed_with_the_same_body_when_enabled(gw, backends):
    payload = b'{"title": "shadowed write"}'
    response = gw.request(
        "POST",
        "/shadow/write",
        content=payload,
        headers={"x-backend-shadow": "mirror", "content-type": "application/json"},
    )
    assert echo(response)["body_length"] == len(payload)
    mirror = backends["mirror"]
    assert eventually(lambda: mirror.hits("/shadow/write"))
    assert mirror.last("/shadow/write").body_sha256 == backends["primary"].last("/shadow/write").body_sha256
    assert mirror.last("/shadow/write").method == "POST"


def quiet(gw) -> dict[str, int]:
    """The counters once no shadow is in flight (one planned before an answer holds a slot until it ends)."""
    assert eventually(lambda: gw.get("/_gateway/shadow").json()["in_flight"] == 0), gw.get("/_gateway/shadow").text
    return counters(gw)


def test_shadow_to_the_answering_backend_is_not_sent(gw, backends):
    before = quiet(gw)
    response = gw.get("/shadow/self", headers={"x-backend-shadow": "primary"})
    echo(response)
    # A copy would have been planned before the answer: once none is in flight, it would have been sent and counted.
    assert quiet(gw) == before
    assert backends["primary"].hits("/shadow/self") == 1


@pytest.mark.parametrize("hostile", ["hang", "garbage"])
def test_hostile_shadow_changes_nothing_for_the_client(gw, backends, hostile):
    rid = f"shadow-{hostile}-1"
    started = time.monotonic()
    response = gw.get(f"/shadow/{hostile}", headers={"x-backend-shadow": hostile, "x-request-id": rid})
    elapsed = time.monotonic() - started
    body = echo(response)
    assert body["path"] == f"/shadow/{hostile}"
    assert response.headers["x-request-id"] == rid
    assert response.headers["x-backend"] == "primary"
    # Answered well before the shadow's own timeout would have fired.
    assert elapsed < SHADOW_TIMEOUT_MS / 1000
    found = eventually(lambda: events_for(gw, "shadow_failed", rid), timeout_s=SHADOW_TIMEOUT_MS / 1000 + 15)
    assert found, gw.output()[-2000:]
    assert found[0]["shadow_backend"] == hostile
    assert backends[hostile].hits(f"/shadow/{hostile}") >= 1


def test_setting_shadows_requests_and_the_counters_need_the_key(keyed, backends):
    auth = {"x-api-key": API_KEY}
    assert_error(keyed.get("/_gateway/shadow"), 401, "unauthorized")
    before = counters(keyed, auth)
    echo(keyed.get("/shadow/setting", headers=auth))
    assert eventually(lambda: backends["mirror"].hits("/shadow/setting"))
    assert eventually(lambda: counters(keyed, auth)["compared"] > before["compared"])
    report = keyed.get("/_gateway/shadow", headers=auth).json()
    assert report["backend"] == "mirror"
    assert report["counters"]["equal"] == before["equal"] + 1
    assert set(report["counters"]) == {
        "compared",
        "equal",
        "differing",
        "status_only",
        "failed",
        "dropped",
        "skipped",
    }
