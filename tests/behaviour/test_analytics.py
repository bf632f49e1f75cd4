"""Analytics Engine data points (``GATEWAY_ANALYTICS``) on the two Worker runtimes.

With the binding declared, the Worker writes one data point per answered
request (``gateway.metrics.data_point``: blobs backend, location, status
class, failure kind; doubles status, gateway ms, upstream ms, upstream
exchanges, rate limited; index the backend id). Without it, nothing is
written and nothing else changes.

Miniflare's own dataset binding keeps nothing offline (its local
``writeDataPoint`` only forwards to a remote dataset), so the binding here is
a recording stand-in that checks each point against the binding's limits
(harness/pyodide/analytics_dataset.mjs): a plain JS object in the Node harness,
an RPC entrypoint on workerd. The twin has no such binding; its Prometheus
series come from the same mapping (tests/unit/local_runner/test_metrics.py,
tests/hardening/test_metrics.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.upstream import FaultServer, FaultState, garbage

from .conftest import assert_error, echo
from .gateways import Gateway

UPSTREAMS = ("app", "sick", "fragile")
KEY = "analytics-k3y-0123456789"
AUTH = {"x-api-key": KEY}
BODY_MARKER = "body-marker-never-in-a-point"
BUDGET = 2
EVENT = "analytics_data_point"


@pytest.fixture(scope="module", params=("pyodide", "workerd"))
def runtime(request: pytest.FixtureRequest) -> str:
    """Only the Worker runtimes have the binding (the twin keeps Prometheus series)."""
    return request.param


@pytest.fixture(scope="module")
def liar(runtime: str) -> Iterator[FaultState]:
    with FaultServer({"/garbage": garbage}) as state:
        yield state


def settings(upstreams, liar: FaultState, **extra: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "local",
        "DEFAULT_BACKEND": "app",
        "API_KEY": KEY,
        "BACKEND_APP_URL": upstreams["app"].url,
        "BACKEND_SICK_URL": upstreams["sick"].url,
        "BACKEND_FRAGILE_URL": upstreams["fragile"].url,
        "BACKEND_LIAR_URL": liar.url,
        **extra,
    }


def settled(gw: Gateway, timeout_s: float = 15.0) -> Gateway:
    """Wait until every ``/_gateway/health`` sent so far has written its point.

    Points are written after the answer, so under load the one of workerd's warm-up
    request (tests/behaviour/gateways.py) could land after a case's request was sent
    and be taken for its point. One more health request here makes the count the
    same on both runtimes' harnesses.
    """
    assert gw.get("/_gateway/health").status_code == 200
    expected = 2 if gw.runtime == "workerd" else 1
    deadline = time.monotonic() + timeout_s
    while sum(p["blobs"][0] == "-" and p["doubles"][0] == 200 for p in gw.events(EVENT)) < expected:
        assert time.monotonic() < deadline, gw.output()[-4000:]
        time.sleep(0.05)
    return gw


@pytest.fixture(scope="module")
def gw(launch, upstreams, liar) -> Gateway:
    upstreams["sick"].health_status = 500
    return settled(launch(settings(upstreams, liar), analytics=True))


@pytest.fixture(scope="module")
def limited(launch, upstreams, liar) -> Gateway:
    return settled(launch(settings(upstreams, liar, RATE_LIMIT_REQUESTS=str(BUDGET)), analytics=True))


@pytest.fixture(scope="module")
def unbound(launch, upstreams, liar) -> Gateway:
    return launch(settings(upstreams, liar))


def point_of(gw: Gateway, send: Callable[[], httpx.Response], timeout_s: float = 15.0) -> tuple[httpx.Response, dict]:
    """Send one request and return its answer and the one data point it wrote."""
    before = len(gw.events(EVENT))
    response = send()
    deadline = time.monotonic() + timeout_s
    while len(points := gw.events(EVENT)) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    new = points[before:]
    assert len(new) == 1, (response.status_code, new)
    return response, new[0]


def columns(point: dict[str, Any]) -> tuple[list[str], list[float], list[str]]:
    return point["blobs"], point["doubles"], point["indexes"]


def test_a_proxied_answer_writes_backend_location_2xx_and_both_times(gw):
    response, point = point_of(gw, lambda: gw.get("/tasks", headers=AUTH))
    echo(response)
    blobs, doubles, indexes = columns(point)
    assert blobs == ["app", "local", "2xx", "-"]
    status, gateway_ms, upstream_ms, exchanges, limited = doubles
    assert (status, exchanges, limited) == (200, 1, 0)
    assert gateway_ms >= 0 and upstream_ms >= 0
    assert indexes == ["app"]


def test_a_backend_4xx_is_counted_under_the_backend(gw):
    response, point = point_of(gw, lambda: gw.get("/status/404", headers=AUTH))
    assert response.status_code == 404
    assert point["blobs"] == ["app", "local", "4xx", "-"]
    assert point["doubles"][0] == 404 and point["doubles"][3] == 1


def test_an_unauthorized_request_has_no_backend_and_no_upstream(gw):
    response, point = point_of(gw, lambda: gw.get("/tasks", headers={"x-backend": "app"}))
    assert_error(response, 401, "unauthorized")
    assert point["blobs"] == ["-", "-", "4xx", "-"]
    assert point["doubles"][0] == 401 and point["doubles"][2:4] == [0, 0]
    assert point["indexes"] == ["-"]


def test_an_unknown_backend_id_never_becomes_a_dimension(gw):
    response, point = point_of(gw, lambda: gw.get("/tasks", headers={**AUTH, "x-backend": "random-x1"}))
    assert_error(response, 400, "unknown_backend")
    assert point["blobs"][0] == "-" and point["indexes"] == ["-"]
    assert "random-x1" not in json.dumps(point)


def test_an_unhealthy_backend_is_503_with_no_upstream_exchange(gw, upstreams):
    response, point = point_of(gw, lambda: gw.get("/work", headers={**AUTH, "x-backend": "sick"}))
    assert_error(response, 503, "backend_unhealthy")
    assert point["blobs"] == ["sick", "local", "5xx", "-"]
    assert point["doubles"][3] == 0
    assert upstreams["sick"].hits("/work") == 0


def test_a_refused_upstream_is_5xx_with_failure_kind_refused(gw, upstreams):
    # Its point first: written after the answer, it could otherwise land among the next request's.
    before, _ = point_of(gw, lambda: gw.get("/before", headers={**AUTH, "x-backend": "fragile"}))
    echo(before)
    upstreams["fragile"].stop()  # the port now refuses connections
    response, point = point_of(gw, lambda: gw.get("/after", headers={**AUTH, "x-backend": "fragile"}))
    assert_error(response, 503, "backend_unavailable")
    assert point["blobs"] == ["fragile", "local", "5xx", "refused"]
    assert point["doubles"][3] == 1  # the exchange was attempted and timed


def test_an_upstream_answering_garbage_has_failure_kind_protocol(gw):
    response, point = point_of(gw, lambda: gw.get("/garbage", headers={**AUTH, "x-backend": "liar"}))
    assert_error(response, 502, "bad_gateway")
    assert point["blobs"] == ["liar", "local", "5xx", "protocol"]


def test_a_rate_limited_request_is_marked_and_has_no_backend(limited):
    for _ in range(BUDGET):
        point_of(limited, lambda: limited.get("/spend", headers=AUTH))
    response, point = point_of(limited, lambda: limited.get("/spend", headers=AUTH))
    assert_error(response, 429, "rate_limited")
    assert point["blobs"] == ["-", "-", "4xx", "-"]
    assert point["doubles"][0] == 429 and point["doubles"][4] == 1


def test_no_url_key_or_body_reaches_a_data_point(gw, upstreams, liar):
    payload = json.dumps({"title": BODY_MARKER})
    point_of(gw, lambda: gw.request("POST", f"/tasks?q={BODY_MARKER}", headers=AUTH, content=payload))
    point_of(gw, lambda: gw.get("/tasks", headers={"x-api-key": KEY + "-wrong"}))
    text = json.dumps(gw.events(EVENT))
    for secret in (KEY, BODY_MARKER, "http://", "127.0.0.1", str(upstreams["app"].port), str(liar.port), "/tasks"):
        assert secret not in text


def test_metrics_endpoint_stays_404_with_the_binding(gw):
    assert_error(gw.get("/_gateway/metrics", headers=AUTH), 404, "not_found")


def test_without_the_binding_nothing_is_written_and_answers_are_unchanged(unbound):
    echo(unbound.get("/tasks", headers=AUTH))
    assert_error(unbound.get("/tasks", headers={"x-backend": "app"}), 401, "unauthorized")
    assert_error(unbound.get("/_gateway/metrics", headers=AUTH), 404, "not_found")
    # The request lines are written after the point would have been: once they are there, none came.
    deadline = time.monotonic() + 10
    while len([r for r in unbound.log_records() if "request_id" in r]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len([r for r in unbound.log_records() if "request_id" in r]) >= 3
    assert unbound.events(EVENT) == []
