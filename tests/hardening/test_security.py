"""Security checks: constant-time key comparison, CORS, cloud mode and local entries."""

from __future__ import annotations

import hmac
import json

import httpx
import pytest

from gateway.auth import ApiKeyAuth
from gateway.errors import Unauthorized
from gateway.headers import HeaderMap
from tests.hardening.support import API_KEY
from tests.support.processes import kv_cli, running_twin
from tests.support.upstream import Exchange, FaultServer, reply

BOUND_S = 10.0


@pytest.mark.parametrize(
    "fields, allowed",
    [
        ([("authorization", f"Bearer {API_KEY}")], True),
        ([("x-api-key", API_KEY)], True),
        ([("authorization", "Bearer wrong"), ("x-api-key", API_KEY)], True),
        ([("authorization", f"Bearer {API_KEY}"), ("x-api-key", "wrong")], True),
        ([("authorization", "Bearer wrong"), ("x-api-key", "wrong")], False),
        ([("authorization", "Basic abc")], False),
        ([], False),
    ],
)
def test_every_candidate_key_is_compared_with_hmac_compare_digest(monkeypatch, fields, allowed):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    # Patched on the hmac module itself, before the authenticator is built,
    # so it is seen however auth.py reaches compare_digest.
    monkeypatch.setattr(hmac, "compare_digest", spy)
    candidates = sum(1 for name, value in fields if name == "x-api-key" or value.lower().startswith("bearer "))
    headers = HeaderMap(fields)

    if allowed:
        ApiKeyAuth(API_KEY).authenticate(headers)
    else:
        with pytest.raises(Unauthorized):
            ApiKeyAuth(API_KEY).authenticate(headers)

    assert len(calls) == candidates  # every candidate, even after a match
    assert all(b == API_KEY.encode() for _, b in calls)
    assert not headers.has("authorization") and not headers.has("x-api-key")


async def _grants_any_origin(ex: Exchange) -> bool:
    extra = "access-control-allow-origin: *\r\naccess-control-allow-credentials: true\r\n"
    ex.writer.write(reply(200, b"{}", extra=extra))
    await ex.writer.drain()
    return True


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "https://app.example.com.evil.example", "http://app.example.com"]
)
def test_cors_never_grants_an_unlisted_origin_even_when_the_backend_does(tmp_path, origin):
    env = {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "CORS_ALLOW_ORIGINS": "https://app.example.com"}
    with (
        FaultServer({"/": _grants_any_origin}) as up,
        running_twin({**env, "BACKEND_APP_URL": up.url}, tmp_path) as twin,
    ):
        with httpx.Client(timeout=BOUND_S) as http:
            simple = http.get(twin.url + "/x", headers={"origin": origin})
            preflight = http.options(
                twin.url + "/x", headers={"origin": origin, "access-control-request-method": "GET"}
            )
            allowed = http.get(twin.url + "/x", headers={"origin": "https://app.example.com"})

    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    assert "access-control-allow-credentials" not in simple.headers
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"


def test_cloud_mode_refuses_a_local_entry_and_never_calls_it(tmp_path):
    kv_path = tmp_path / "kv.sqlite"
    with FaultServer() as up:
        doc = {"id": "app", "name": "App", "url": up.url, "type": "local"}
        kv_cli(kv_path, "put", "backend:app", json.dumps(doc))
        env = {"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "app"}
        with running_twin(env, tmp_path, "--kv-path", str(kv_path)) as twin:
            with httpx.Client(timeout=BOUND_S) as http:
                default = http.get(twin.url + "/x")
                asked_local = http.get(twin.url + "/x", headers={"x-backend-location": "local"})
                asked_cloud = http.get(twin.url + "/x", headers={"x-backend-location": "cloud"})

    for answer in (default, asked_local, asked_cloud):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "location_unavailable"
        assert up.url not in answer.text
    assert up.accepted == 0
