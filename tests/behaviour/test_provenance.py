"""Every proxied answer says what served it and how the time was spent, on every runtime.

``x-backend``/``x-backend-location`` name the entry that answered and a W3C
``Server-Timing`` header splits upstream from gateway time; CORS exposes all
three to browser scripts. Gateway and error answers carry none of them.
"""

from __future__ import annotations

import re

import pytest

from .conftest import assert_error, echo, local_settings

UPSTREAMS = ("alpha", "alpha_cloud")
ORIGIN = "https://app.example"
TIMING = re.compile(r"upstream;dur=(\d+(?:\.\d+)?), gateway;dur=(\d+(?:\.\d+)?)")


@pytest.fixture(scope="module")
def gw(launch, upstreams):
    return launch(local_settings(upstreams, "alpha", CORS_ALLOW_ORIGINS=ORIGIN))


@pytest.mark.parametrize("location", ["local", "cloud"])
def test_proxied_answer_names_backend_and_location(gw, location):
    response = gw.get("/who", headers={"x-backend-location": location})
    echo(response)
    assert response.headers["x-backend"] == "alpha"
    assert response.headers["x-backend-location"] == location


def test_proxied_answer_has_server_timing_for_upstream_and_gateway(gw):
    response = gw.get("/timed")
    echo(response)
    match = TIMING.fullmatch(response.headers["server-timing"])
    assert match, response.headers["server-timing"]
    upstream_ms, gateway_ms = float(match[1]), float(match[2])
    assert upstream_ms > 0 and gateway_ms >= 0


def test_cors_exposes_provenance_headers(gw):
    response = gw.get("/cors", headers={"origin": ORIGIN})
    exposed = {name.strip() for name in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "x-backend", "x-backend-location", "server-timing"} <= exposed


def test_error_answer_carries_no_provenance(gw):
    response = gw.get("/nope", headers={"x-backend": "nope"})
    assert_error(response, 400, "unknown_backend")
    assert "x-backend" not in response.headers
    assert "server-timing" not in response.headers
