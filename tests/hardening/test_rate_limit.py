"""Rate limiting end to end against the twin (RATE_LIMIT_REQUESTS / RATE_LIMIT_PERIOD_S)."""

from __future__ import annotations

import importlib.util

import httpx

from tests.hardening.support import API_KEY, FaultServer
from tests.support.processes import ROOT, running_twin

BOUND_S = 10.0
ORIGIN = "https://app.example.com"


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": url, "CORS_ALLOW_ORIGINS": ORIGIN, **extra}


def test_over_the_limit_answers_429_json_with_retry_after_and_never_reaches_the_backend(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url, RATE_LIMIT_REQUESTS="5", RATE_LIMIT_PERIOD_S="60"), tmp_path) as twin:
        with httpx.Client(timeout=BOUND_S) as http:
            answers = [http.get(twin.url + "/limited", headers={"origin": ORIGIN}) for _ in range(8)]
        hits = up.hits("/limited")

    assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
    for answer in answers[5:]:
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]["code"] == "rate_limited"
        assert answer.headers["retry-after"] == "60"
        assert answer.headers["x-request-id"]
        assert answer.headers["access-control-allow-origin"] == ORIGIN  # a browser can read why
    assert hits == 5


def test_health_endpoint_and_preflights_are_exempt(tmp_path):
    preflight = {"origin": ORIGIN, "access-control-request-method": "POST"}
    with FaultServer() as up, running_twin(env_for(up.url, RATE_LIMIT_REQUESTS="2", RATE_LIMIT_PERIOD_S="60"), tmp_path) as twin:
        with httpx.Client(timeout=BOUND_S) as http:
            spent = [http.get(twin.url + "/x").status_code for _ in range(3)]
            health = {http.get(twin.url + "/_gateway/health").status_code for _ in range(20)}
            preflights = {http.options(twin.url + "/x", headers=preflight).status_code for _ in range(20)}
            backends = http.get(twin.url + "/_gateway/backends").status_code

    assert spent == [200, 200, 429]
    assert health == {200}
    assert preflights == {204}
    # /_gateway/backends sits behind auth, so it stays limited: key guessing there is limited too.
    assert backends == 429


def test_rate_limit_applies_before_auth_so_key_guessing_is_limited(tmp_path):
    env = env_for("", RATE_LIMIT_REQUESTS="3", RATE_LIMIT_PERIOD_S="60", API_KEY=API_KEY)
    with FaultServer() as up, running_twin({**env, "BACKEND_APP_URL": up.url}, tmp_path) as twin:
        with httpx.Client(timeout=BOUND_S) as http:
            guesses = [http.get(twin.url + "/x", headers={"x-api-key": f"guess-{i}"}).status_code for i in range(6)]

    assert guesses == [401, 401, 401, 429, 429, 429]


def test_no_rate_limit_unless_configured(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        with httpx.Client(timeout=BOUND_S) as http:
            statuses = {http.get(twin.url + "/x").status_code for _ in range(300)}

    assert statuses == {200}


def _soak():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rate_limit_under_load_admits_at_most_the_budget_and_answers_the_rest_429(tmp_path):
    report = _soak().run(requests=3000, concurrency=64, warmup=0, rate_limit=1000, log_path=tmp_path / "soak-rl.log")

    outcomes = report["outcomes"]
    assert report["errors"] == 0, report
    assert set(outcomes) <= {"200", "429"}
    refill = 1000 / 60 * (report["seconds"] + 1)
    assert 1000 <= outcomes["200"] <= 1000 + refill + 1, report
    assert outcomes["429"] == 3000 - outcomes["200"]
