import pytest

from gateway.cors import ALLOW_HEADERS, Cors
from gateway.errors import OriginNotAllowed
from gateway.headers import HeaderMap
from gateway.settings import Settings

APP = "https://app.example"


def cors(origins: str = APP) -> Cors:
    return Cors.from_settings(Settings.from_env({"ENVIRONMENT": "local", "CORS_ALLOW_ORIGINS": origins}))


def preflight(origin: str = APP) -> HeaderMap:
    return HeaderMap([("origin", origin), ("access-control-request-method", "POST")])


def test_options_with_origin_and_request_method_is_a_preflight():
    assert Cors.is_preflight("OPTIONS", preflight())


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("OPTIONS", [("origin", APP)]),
        ("OPTIONS", [("access-control-request-method", "GET")]),
        ("GET", [("origin", APP), ("access-control-request-method", "GET")]),
    ],
)
def test_other_requests_are_not_preflights(method, headers):
    assert not Cors.is_preflight(method, HeaderMap(headers))


def test_preflight_from_listed_origin_is_allowed():
    headers = dict(cors().preflight_headers(preflight()))
    assert headers["access-control-allow-origin"] == APP
    assert "OPTIONS" in headers["access-control-allow-methods"]
    assert headers["vary"] == "Origin"


def test_preflight_allows_the_gateway_request_headers():
    listed = dict(cors().preflight_headers(preflight()))["access-control-allow-headers"]
    allowed = {h.strip() for h in listed.split(",")}
    assert {"x-backend", "x-backend-location", "content-type", "authorization", "x-api-key", "x-request-id"} <= allowed
    assert allowed == {h.strip() for h in ALLOW_HEADERS.split(",")}


def test_preflight_allows_the_idempotency_key_header():
    listed = dict(cors().preflight_headers(preflight()))["access-control-allow-headers"]
    assert "idempotency-key" in {h.strip() for h in listed.split(",")}


def test_answers_expose_idempotent_replayed_to_scripts():
    headers = HeaderMap()
    cors().apply(APP, headers)
    assert "idempotent-replayed" in {h.strip() for h in headers.get("access-control-expose-headers").split(",")}


def test_answers_expose_the_next_occurrence_of_a_completed_recurring_task_to_scripts():
    headers = HeaderMap()
    cors().apply(APP, headers)
    assert "next-occurrence-id" in {h.strip() for h in headers.get("access-control-expose-headers").split(",")}


def test_preflight_from_unlisted_origin_is_rejected():
    with pytest.raises(OriginNotAllowed) as err:
        cors().preflight_headers(preflight("https://evil.example"))
    assert (err.value.status, err.value.code) == (403, "origin_not_allowed")


def test_preflight_is_rejected_when_cors_is_disabled():
    with pytest.raises(OriginNotAllowed):
        Cors.from_settings(Settings.from_env({"ENVIRONMENT": "local"})).preflight_headers(preflight())


def test_preflight_with_star_answers_star():
    assert dict(cors("*").preflight_headers(preflight("https://any.example")))["access-control-allow-origin"] == "*"


def test_listed_origin_is_reflected_on_answers_and_request_id_exposed():
    headers = HeaderMap()
    cors().apply(APP, headers)
    assert headers.get("access-control-allow-origin") == APP
    assert "x-request-id" in headers.get("access-control-expose-headers")
    assert headers.get("vary") == "Origin"


def test_unlisted_origin_is_never_reflected_even_if_upstream_granted_it():
    headers = HeaderMap(
        [("access-control-allow-origin", "https://evil.example"), ("access-control-allow-credentials", "true")]
    )
    cors().apply("https://evil.example", headers)
    assert not headers.has("access-control-allow-origin")
    assert not headers.has("access-control-allow-credentials")
    assert headers.get("vary") == "Origin"


def test_request_without_origin_gets_no_allow_origin():
    headers = HeaderMap([("access-control-allow-origin", "*")])
    cors().apply(None, headers)
    assert not headers.has("access-control-allow-origin")


def test_vary_origin_is_added_to_upstream_vary():
    headers = HeaderMap([("vary", "Accept-Encoding")])
    cors().apply(APP, headers)
    assert "Origin" in headers.get("vary")
    assert "Accept-Encoding" in headers.get("vary")


def test_upstream_allow_origin_is_dropped_when_cors_is_disabled():
    # With no CORS_ALLOW_ORIGINS every origin is unlisted, so the gateway must
    # not let an upstream grant one either.
    headers = HeaderMap(
        [("access-control-allow-origin", "https://evil.example"), ("access-control-allow-credentials", "true")]
    )
    Cors.from_settings(Settings.from_env({"ENVIRONMENT": "local"})).apply("https://evil.example", headers)
    assert not headers.has("access-control-allow-origin")
    assert not headers.has("access-control-allow-credentials")


def test_origin_match_is_exact():
    headers = HeaderMap()
    cors().apply(APP + ".evil.example", headers)
    assert not headers.has("access-control-allow-origin")
