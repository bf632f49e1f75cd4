"""API-key authentication, and the request log that must never show the key, on every runtime."""

from __future__ import annotations

import time

import pytest

from tests.support.logs import REQUEST_LINE_FIELDS

from .conftest import assert_error, echo, local_settings

UPSTREAMS = ("app",)
KEY = "k3y-0f-the-gateway"
ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def gw(launch, upstreams):
    return launch(local_settings(upstreams, "app", API_KEY=KEY, CORS_ALLOW_ORIGINS=ORIGIN))


def test_request_without_a_key_is_401_with_www_authenticate(gw, upstreams):
    response = gw.get("/auth/none")
    assert_error(response, 401, "unauthorized", secrets=(KEY,))
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert upstreams["app"].hits("/auth/none") == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer wrong"},
        {"x-api-key": "wrong"},
        {"authorization": f"Basic {KEY}"},
        {"authorization": KEY},
    ],
)
def test_wrong_key_or_scheme_is_401(gw, upstreams, headers):
    assert_error(gw.get("/auth/wrong", headers=headers), 401, "unauthorized", secrets=(KEY,))
    assert upstreams["app"].hits("/auth/wrong") == 0


def test_bearer_key_is_accepted_and_not_forwarded(gw, upstreams):
    echo(gw.get("/auth/bearer", headers={"authorization": f"Bearer {KEY}"}))
    seen = upstreams["app"].last("/auth/bearer").headers
    assert "authorization" not in seen
    assert KEY not in str(seen)


def test_x_api_key_is_accepted_and_not_forwarded(gw, upstreams):
    echo(gw.get("/auth/x-api-key", headers={"x-api-key": KEY}))
    seen = upstreams["app"].last("/auth/x-api-key").headers
    assert "x-api-key" not in seen
    assert KEY not in str(seen)


def test_a_valid_key_next_to_a_wrong_one_is_accepted_and_both_are_stripped(gw, upstreams):
    echo(gw.get("/auth/both", headers={"x-api-key": KEY, "authorization": "Bearer wrong"}))
    seen = upstreams["app"].last("/auth/both").headers
    assert "authorization" not in seen and "x-api-key" not in seen


def test_gateway_health_needs_no_key(gw):
    assert gw.get("/_gateway/health").status_code == 200


def test_other_gateway_endpoints_need_the_key(gw):
    assert_error(gw.get("/_gateway/backends"), 401, "unauthorized")
    assert gw.get("/_gateway/backends", headers={"x-api-key": KEY}).status_code == 200


def test_preflight_needs_no_key_and_never_reaches_the_upstream(gw, upstreams):
    response = gw.request(
        "OPTIONS", "/auth/preflight", headers={"origin": ORIGIN, "access-control-request-method": "GET"}
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert upstreams["app"].hits("/auth/preflight") == 0


def test_401_carries_cors_headers_for_an_allowed_origin(gw):
    response = gw.get("/auth/cors", headers={"origin": ORIGIN})
    assert_error(response, 401, "unauthorized")
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_each_request_writes_one_json_log_line_without_the_key_or_the_query(gw):
    gw.get("/logline/ok?token=abc", headers={"authorization": f"Bearer {KEY}"})
    gw.get("/logline/unknown", headers={"x-backend": "nope", "x-api-key": KEY})

    def lines() -> list[dict]:
        return [r for r in gw.log_records() if str(r.get("path", "")).startswith("/logline/")]

    # A third request, answered after both: once its line is in, a duplicate of theirs would be too.
    gw.get("/logline/zz-last", headers={"authorization": f"Bearer {KEY}"})
    deadline = time.monotonic() + 10
    while not any(r["path"] == "/logline/zz-last" for r in lines()):
        assert time.monotonic() < deadline, f"no log line for /logline/zz-last: {lines()}"
        time.sleep(0.05)
    requests = lines()[:-1]
    assert lines()[-1]["path"] == "/logline/zz-last"
    assert [(r["path"], r["status"], r["outcome"]) for r in requests] == [
        ("/logline/ok", 200, "proxied"),
        ("/logline/unknown", 400, "error:unknown_backend"),
    ]
    assert set(requests[0]) == REQUEST_LINE_FIELDS
    assert KEY not in gw.output()
    assert "token=abc" not in gw.output()
