"""Rate limiting, on every runtime: the twin's token bucket and the Workers
Rate Limiting binding (the harness's stand-in counts per key without a window;
on workerd, Miniflare's binding as wrangler.toml declares it, with the limit
set to RATE_LIMIT_REQUESTS; every case here stays inside one period).

All limit per client address. Each case talks to the gateway from its own
loopback address (127.0.0.N), so each starts with the whole budget whatever
ran before it. The soak under a rate limit is twin-only: tests/hardening/test_load.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from .conftest import assert_error, echo

UPSTREAMS = ("app",)
BUDGET = 3
PERIOD_S = 60
ORIGIN = "https://app.example"
KEY = "k3y-0f-the-limited-gateway"
AUTH = {"x-api-key": KEY}


def settings(upstreams, **extra: str) -> dict[str, str]:
    return {
        "ENVIRONMENT": "local",
        "DEFAULT_BACKEND": "app",
        "BACKEND_APP_URL": upstreams["app"].url,
        "CORS_ALLOW_ORIGINS": ORIGIN,
        "API_KEY": KEY,
        **extra,
    }


@pytest.fixture(scope="module")
def gw(launch, upstreams):
    return launch(settings(upstreams, RATE_LIMIT_REQUESTS=str(BUDGET), RATE_LIMIT_PERIOD_S=str(PERIOD_S)))


@pytest.fixture(scope="module")
def unlimited(launch, upstreams):
    return launch(settings(upstreams))


@contextmanager
def client(gateway, address: str) -> Iterator[httpx.Client]:
    """A client whose requests come from ``address``: a fresh budget on the gateway."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=gateway.url(), transport=transport, timeout=60.0) as http:
        yield http


def test_requests_over_the_budget_get_429_json_with_retry_after_and_cors_and_never_reach_the_backend(gw, upstreams):
    with client(gw, "127.0.0.11") as http:
        answers = [http.get(f"/limited/{i}", headers={**AUTH, "origin": ORIGIN}) for i in range(BUDGET + 3)]

    for answer in answers[:BUDGET]:
        echo(answer)
    for answer in answers[BUDGET:]:
        assert_error(answer, 429, "rate_limited", secrets=(KEY,))
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["retry-after"] == str(PERIOD_S)
        assert answer.headers["access-control-allow-origin"] == ORIGIN  # a browser can read why
    assert [upstreams["app"].hits(f"/limited/{i}") for i in range(BUDGET + 3)] == [1] * BUDGET + [0] * 3


def test_gateway_health_and_preflights_are_exempt_but_gateway_backends_is_not(gw):
    preflight = {"origin": ORIGIN, "access-control-request-method": "POST"}
    with client(gw, "127.0.0.12") as http:
        spent = [http.get("/exempt/spend", headers=AUTH).status_code for _ in range(BUDGET + 1)]
        health = {http.get("/_gateway/health").status_code for _ in range(20)}
        preflights = {http.options("/exempt/preflight", headers=preflight).status_code for _ in range(20)}
        backends = http.get("/_gateway/backends", headers=AUTH)

    assert spent == [200] * BUDGET + [429]
    assert health == {200}
    assert preflights == {204}
    # /_gateway/backends sits behind auth, so it stays limited: key guessing there is limited too.
    assert_error(backends, 429, "rate_limited")


def test_rate_limit_applies_before_auth_so_key_guessing_is_limited(gw, upstreams):
    with client(gw, "127.0.0.13") as http:
        guesses = [http.get("/guess", headers={"x-api-key": f"guess-{i}"}) for i in range(BUDGET + 3)]

    assert [g.status_code for g in guesses] == [401] * BUDGET + [429] * 3
    for guess in guesses[BUDGET:]:
        assert_error(guess, 429, "rate_limited")
    assert upstreams["app"].hits("/guess") == 0


def test_no_rate_limit_unless_configured(unlimited):
    with client(unlimited, "127.0.0.14") as http:
        statuses = {http.get("/unlimited", headers=AUTH).status_code for _ in range(300)}

    assert statuses == {200}
