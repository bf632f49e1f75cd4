"""Rate limiting, on both runtimes: the twin's token bucket and the Workers
Rate Limiting binding (the harness's stand-in counts per key without a window,
so every case here stays inside one period)."""

from __future__ import annotations

import pytest

from .conftest import assert_error, echo

UPSTREAMS = ("app",)
BUDGET = 3
PERIOD_S = 60
ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def gw(launch, upstreams):
    return launch(
        {
            "ENVIRONMENT": "local",
            "DEFAULT_BACKEND": "app",
            "BACKEND_APP_URL": upstreams["app"].url,
            "RATE_LIMIT_REQUESTS": str(BUDGET),
            "RATE_LIMIT_PERIOD_S": str(PERIOD_S),
            "CORS_ALLOW_ORIGINS": ORIGIN,
        }
    )


def test_requests_over_the_budget_get_429_with_retry_after_and_never_reach_the_backend(gw, upstreams):
    for i in range(BUDGET):
        echo(gw.get(f"/limited/{i}"))
    over = gw.get("/limited/over")
    assert_error(over, 429, "rate_limited")
    assert over.headers["retry-after"] == str(PERIOD_S)
    assert upstreams["app"].hits("/limited/over") == 0


def test_gateway_health_and_preflights_are_exempt(gw):
    # Runs after the budget is spent (module order): these still answer.
    for _ in range(BUDGET + 2):
        assert gw.get("/_gateway/health").status_code == 200
        preflight = gw.request(
            "OPTIONS", "/tasks", headers={"origin": ORIGIN, "access-control-request-method": "POST"}
        )
        assert preflight.status_code == 204
