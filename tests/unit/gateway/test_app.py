"""The pipeline end to end: ``on_fetch`` with a fake platform, both sides asserted."""

import asyncio
import dataclasses
import json

import pytest

from gateway import __version__
from gateway.app import Gateway, build_gateway
from gateway.errors import UpstreamConnectError, UpstreamProtocolError
from gateway.headers import HeaderMap
from gateway.runtime import Response
from gateway.settings import Settings, SettingsError
from tests.support.logs import REQUEST_LINE_FIELDS
from tests.unit.fakes import (
    BUN_URL,
    D1_CLOUD_URL,
    D1_LOCAL_URL,
    HOP_BY_HOP_ANSWER,
    FakeKV,
    FakeLimiter,
    Harness,
    cloud_doc,
    error_of,
    fail,
    json_of,
    respond,
)

APP = "https://app.example"
API_KEY = "gw-api-key-0123456789"
HYBRID = {"BACKEND_CF_D1_URL": D1_LOCAL_URL, "BACKEND_CF_D1_CLOUD_URL": D1_CLOUD_URL, "BACKEND_CF_D1_NAME": "D1"}
SECRETS = {
    "D1_ACCESS_ID": "access-id-value-111",
    "D1_ACCESS_SECRET": "access-secret-value-222",
    "D1_TOKEN": "bearer-token-value-333",
}
ACCESS_DOC = cloud_doc(accessClientIdSecret="D1_ACCESS_ID", accessClientSecretSecret="D1_ACCESS_SECRET")


def assert_error(response, status: int, code: str) -> dict:
    assert response.status == status
    error = error_of(response)
    assert error["code"] == code
    assert error["request_id"] == response.headers.get("x-request-id")
    return error


# Routing -------------------------------------------------------------------------


async def test_request_without_x_backend_goes_to_bun_sqlite():
    h = Harness.local()
    response = await h.send("GET", "/tasks")
    assert response.status == 200
    (call,) = h.upstream.proxied
    assert call.url == BUN_URL + "/tasks"


async def test_default_backend_setting_is_used_without_x_backend():
    h = Harness.local({**HYBRID, "DEFAULT_BACKEND": "cf-d1"})
    await h.send("GET", "/tasks")
    assert [c.url for c in h.upstream.proxied] == [D1_LOCAL_URL + "/tasks"]


async def test_proxied_answer_names_the_backend_and_location_that_served_it():
    h = Harness.local(HYBRID)
    h.upstream.proxy = respond(200, [("x-backend", "spoofed"), ("x-backend-location", "mars")])
    response = await h.send("GET", "/tasks", [("x-backend", "cf-d1"), ("x-backend-location", "cloud")])
    assert response.headers.get("x-backend") == "cf-d1"
    assert response.headers.get("x-backend-location") == "cloud"


async def test_server_timing_splits_upstream_and_gateway_time():
    h = Harness.local()

    async def slow(call):
        h.clock.advance(0.25)
        return Response(200, HeaderMap([("server-timing", "db;dur=3")]), b"")

    h.upstream.proxy = slow
    response = await h.send("GET", "/tasks")
    assert response.headers.get("server-timing") == "db;dur=3, upstream;dur=250.0, gateway;dur=0.0"


async def test_gateway_and_error_answers_carry_no_backend_or_timing():
    h = Harness.local()
    h.upstream.proxy = fail(UpstreamConnectError, "refused")
    failed = await h.send("GET", "/tasks")
    listing = await h.send("GET", "/_gateway/backends")
    for response in (failed, listing):
        assert response.headers.get("x-backend") is None
        assert response.headers.get("server-timing") is None


async def test_x_backend_selects_the_backend():
    h = Harness.local(HYBRID)
    response = await h.send("GET", "/tasks", [("x-backend", "cf-d1")])
    assert response.status == 200
    assert [c.url for c in h.upstream.proxied] == [D1_LOCAL_URL + "/tasks"]


@pytest.mark.parametrize("value", ["Bun-SQLite", "bun_sqlite", "-bun", "a" * 64, "", "bun sqlite", "../x", "b/c"])
async def test_malformed_x_backend_is_invalid_backend(value):
    h = Harness.local()
    response = await h.send("GET", "/tasks", [("x-backend", value)])
    assert_error(response, 400, "invalid_backend")
    assert h.upstream.calls == []


async def test_unknown_backend_is_named_in_the_error():
    h = Harness.local()
    response = await h.send("GET", "/tasks", [("x-backend", "nope")])
    error = assert_error(response, 400, "unknown_backend")
    assert error["message"] == "Unknown backend: nope"
    assert h.upstream.calls == []


async def test_unknown_default_backend_is_unknown_backend():
    h = Harness({"ENVIRONMENT": "local"})
    assert_error(await h.send("GET", "/tasks"), 400, "unknown_backend")


# Location ------------------------------------------------------------------------


async def test_location_defaults_to_the_gateway_environment():
    h = Harness.local(HYBRID)
    await h.send("GET", "/tasks", [("x-backend", "cf-d1")])
    assert [c.host for c in h.upstream.calls] == ["d1.internal:8788", "d1.internal:8788"]


@pytest.mark.parametrize("value", ["cloud", "CLOUD", " Cloud "])
async def test_forcing_cloud_on_a_local_gateway_calls_the_cloud_entry(value):
    h = Harness.local(HYBRID)
    response = await h.send("POST", "/tasks?x=1", [("x-backend", "cf-d1"), ("x-backend-location", value)])
    assert response.status == 200
    (call,) = h.upstream.proxied
    assert call.url == D1_CLOUD_URL + "/tasks?x=1"
    assert [c.url for c in h.upstream.health_checks] == [D1_CLOUD_URL + "/health"]


async def test_forcing_local_picks_the_local_entry():
    h = Harness.local(HYBRID)
    await h.send("GET", "/tasks", [("x-backend", "cf-d1"), ("x-backend-location", "LOCAL")])
    assert [c.url for c in h.upstream.proxied] == [D1_LOCAL_URL + "/tasks"]


@pytest.mark.parametrize("value", ["edge", "", "local,cloud", "remote"])
async def test_other_location_values_are_invalid_location(value):
    h = Harness.local(HYBRID)
    response = await h.send("GET", "/tasks", [("x-backend", "cf-d1"), ("x-backend-location", value)])
    assert_error(response, 400, "invalid_location")
    assert h.upstream.calls == []


async def test_backend_without_the_requested_location_is_location_unavailable():
    h = Harness.local()
    response = await h.send("GET", "/tasks", [("x-backend-location", "cloud")])
    assert_error(response, 400, "location_unavailable")
    assert h.upstream.calls == []


async def test_local_gateway_with_only_a_cloud_entry_needs_the_location_forced():
    h = Harness.local({"BACKEND_CF_D1_CLOUD_URL": D1_CLOUD_URL})
    assert_error(await h.send("GET", "/t", [("x-backend", "cf-d1")]), 400, "location_unavailable")
    assert (await h.send("GET", "/t", [("x-backend", "cf-d1"), ("x-backend-location", "cloud")])).status == 200


async def test_cloud_gateway_refuses_to_route_to_local():
    h = Harness.cloud({"cf-d1": cloud_doc()})
    response = await h.send("GET", "/tasks", [("x-backend", "cf-d1"), ("x-backend-location", "local")])
    assert_error(response, 400, "location_unavailable")
    assert h.upstream.calls == []


async def test_cloud_gateway_refuses_a_local_document_even_when_asked_for_local():
    h = Harness.cloud({"dev": cloud_doc("dev", type="local", url="http://10.0.0.5:3000")})
    response = await h.send("GET", "/tasks", [("x-backend", "dev"), ("x-backend-location", "local")])
    assert_error(response, 400, "location_unavailable")
    assert h.upstream.calls == []


async def test_cloud_gateway_never_routes_to_a_local_document():
    h = Harness.cloud({"dev": cloud_doc("dev", type="local", url="http://10.0.0.5:3000")})
    response = await h.send("GET", "/tasks", [("x-backend", "dev")])
    assert_error(response, 400, "location_unavailable")
    assert h.upstream.calls == []


# Cloud registry ------------------------------------------------------------------


async def test_cloud_gateway_routes_by_the_kv_document():
    h = Harness.cloud({"cf-d1": cloud_doc()})
    response = await h.send("GET", "/tasks", [("x-backend", "cf-d1")])
    assert response.status == 200
    assert [c.url for c in h.upstream.proxied] == [D1_CLOUD_URL + "/tasks"]
    assert "backend:cf-d1" in h.kv.gets


async def test_cloud_gateway_unknown_backend():
    h = Harness.cloud({})
    assert_error(await h.send("GET", "/tasks", [("x-backend", "nope")]), 400, "unknown_backend")


async def test_bad_document_is_logged_and_answers_unknown_backend():
    h = Harness.cloud({"cf-d1": cloud_doc(url="http://not-https.example.com")})
    assert_error(await h.send("GET", "/t", [("x-backend", "cf-d1")]), 400, "unknown_backend")
    assert h.logs.events("registry_bad_document")
    assert h.upstream.calls == []


async def test_access_secrets_reach_the_upstream_as_access_headers():
    h = Harness.cloud({"cf-d1": ACCESS_DOC}, SECRETS)
    await h.send("GET", "/tasks", [("x-backend", "cf-d1"), ("cf-access-client-id", "client-forged")])
    (call,) = h.upstream.proxied
    assert [v for k, v in call.headers if k == "cf-access-client-id"] == [SECRETS["D1_ACCESS_ID"]]
    assert [v for k, v in call.headers if k == "cf-access-client-secret"] == [SECRETS["D1_ACCESS_SECRET"]]


async def test_bearer_secret_wins_over_the_clients_authorization():
    h = Harness.cloud({"cf-d1": cloud_doc(bearerTokenSecret="D1_TOKEN")}, SECRETS)
    await h.send("GET", "/tasks", [("x-backend", "cf-d1"), ("authorization", "Bearer client-chosen")])
    (call,) = h.upstream.proxied
    assert [v for k, v in call.headers if k == "authorization"] == ["Bearer " + SECRETS["D1_TOKEN"]]


async def test_bearer_secret_is_sent_when_the_client_authenticated_with_the_api_key():
    h = Harness.cloud({"cf-d1": cloud_doc(bearerTokenSecret="D1_TOKEN")}, {**SECRETS, "API_KEY": API_KEY})
    response = await h.send("GET", "/tasks", [("x-backend", "cf-d1"), ("authorization", f"Bearer {API_KEY}")])
    assert response.status == 200
    (call,) = h.upstream.proxied
    assert [v for k, v in call.headers if k == "authorization"] == ["Bearer " + SECRETS["D1_TOKEN"]]


async def test_missing_secret_is_backend_unavailable_and_logged():
    h = Harness.cloud({"cf-d1": cloud_doc(bearerTokenSecret="NOT_SET")})
    response = await h.send("GET", "/tasks", [("x-backend", "cf-d1")])
    assert_error(response, 503, "backend_unavailable")
    assert h.upstream.calls == []
    assert h.logs.events("registry_missing_secret")


async def test_kv_outage_without_a_copy_is_registry_unavailable():
    kv = FakeKV()
    kv.failing = True
    h = Harness.cloud({"cf-d1": cloud_doc()}, kv=kv)
    assert_error(await h.send("GET", "/t", [("x-backend", "cf-d1")]), 503, "registry_unavailable")


async def test_kv_outage_serves_the_last_good_copy_then_gives_up():
    env = {"REGISTRY_TTL_S": "60", "REGISTRY_STALE_S": "300", "HEALTH_TTL_S": "1000"}
    h = Harness.cloud({"cf-d1": cloud_doc()}, env)
    assert (await h.send("GET", "/t", [("x-backend", "cf-d1")])).status == 200
    h.kv.failing = True
    h.clock.advance(300)
    assert (await h.send("GET", "/t", [("x-backend", "cf-d1")])).status == 200
    h.clock.advance(100)
    assert_error(await h.send("GET", "/t", [("x-backend", "cf-d1")]), 503, "registry_unavailable")


async def test_backends_listing_during_a_long_kv_outage_is_registry_unavailable():
    h = Harness.cloud({"cf-d1": cloud_doc()}, {"REGISTRY_TTL_S": "60", "REGISTRY_STALE_S": "300"})
    assert len(json_of(await h.send("GET", "/_gateway/backends"))["backends"]) == 1
    h.kv.failing = True
    h.clock.advance(400)
    assert_error(await h.send("GET", "/_gateway/backends"), 503, "registry_unavailable")


async def test_cloud_gateway_without_kv_is_misconfigured():
    h = Harness({"ENVIRONMENT": "cloud"})
    error = assert_error(await h.send("GET", "/t"), 500, "misconfigured")
    assert "BACKEND_CONFIG_KV" in error["message"]


# Health --------------------------------------------------------------------------


async def test_health_is_checked_once_for_many_requests():
    h = Harness.local()
    for _ in range(5):
        assert (await h.send("GET", "/tasks")).status == 200
    assert len(h.upstream.health_checks) == 1
    assert len(h.upstream.proxied) == 5


async def test_health_is_rechecked_after_the_ttl():
    h = Harness.local({"HEALTH_TTL_S": "30"})
    await h.send("GET", "/tasks")
    h.clock.advance(31)
    await h.send("GET", "/tasks")
    await h.deferred.drain()
    assert len(h.upstream.health_checks) == 2


async def test_unhealthy_backend_is_backend_unhealthy_and_not_called():
    h = Harness.local()
    h.upstream.health = respond(503)
    response = await h.send("GET", "/tasks")
    error = assert_error(response, 503, "backend_unhealthy")
    assert "bun-sqlite" in error["message"]
    assert h.upstream.proxied == []


async def test_connection_failure_marks_the_backend_unhealthy_at_once():
    h = Harness.local()
    h.upstream.proxy = fail(UpstreamConnectError, "refused")
    assert_error(await h.send("GET", "/tasks"), 503, "backend_unavailable")
    h.upstream.proxy = respond(200)
    assert_error(await h.send("GET", "/tasks"), 503, "backend_unhealthy")
    assert len(h.upstream.proxied) == 1
    assert len(h.upstream.health_checks) == 1


async def answers(h: Harness, statuses: list[int]) -> None:
    """Send one request per status, the backend answering each with that status."""
    for status in statuses:
        h.upstream.proxy = respond(status)
        assert (await h.send("GET", "/tasks")).status == status


async def test_consecutive_5xx_answers_mark_the_backend_unhealthy():
    h = Harness.local()
    await answers(h, [500, 502, 503, 500, 500])
    h.upstream.proxy = respond(200)
    assert_error(await h.send("GET", "/tasks"), 503, "backend_unhealthy")
    assert len(h.upstream.proxied) == 5
    assert [e["backend"] for e in h.logs.events("outlier_ejected")] == ["bun-sqlite@local"]
    listed = json_of(await h.send("GET", "/_gateway/backends"))["backends"][0]["locations"]["local"]["health"]
    assert listed["status"] == "unhealthy"


async def test_fewer_consecutive_5xx_than_the_setting_keep_the_backend_in_use():
    h = Harness.local({"OUTLIER_CONSECUTIVE_5XX": "3"})
    await answers(h, [500, 500])
    h.upstream.proxy = respond(200)
    assert (await h.send("GET", "/tasks")).status == 200


async def test_a_2xx_between_5xx_answers_resets_the_count():
    h = Harness.local()
    await answers(h, [500, 500, 500, 500, 201, 500, 500, 500, 500])
    h.upstream.proxy = respond(200)
    assert (await h.send("GET", "/tasks")).status == 200  # the backend was still called
    assert h.logs.events("outlier_ejected") == []


async def test_4xx_answers_never_count_and_reset_the_count():
    h = Harness.local()
    await answers(h, [500, 500, 500, 500, 404, 500, 500, 500, 500, 400, 409, 422, 404, 400])
    assert h.logs.events("outlier_ejected") == []


async def test_upstream_timeouts_and_non_http_replies_never_count():
    h = Harness.local({"OUTLIER_CONSECUTIVE_5XX": "2", "UPSTREAM_TIMEOUT_MS": "10"})
    h.upstream.proxy = h.upstream.hang()
    for _ in range(3):
        assert_error(await h.send("GET", "/tasks"), 504, "upstream_timeout")
    h.upstream.proxy = fail(UpstreamProtocolError, "garbage")
    for _ in range(3):
        assert_error(await h.send("GET", "/tasks"), 502, "bad_gateway")
    assert h.logs.events("outlier_ejected") == []


async def test_outlier_detection_set_to_0_never_marks():
    h = Harness.local({"OUTLIER_CONSECUTIVE_5XX": "0"})
    await answers(h, [500] * 20)
    assert h.logs.events("outlier_ejected") == []


async def test_a_backend_marked_for_5xx_is_used_again_once_its_health_check_passes_after_the_retry():
    h = Harness.local({"HEALTH_RETRY_S": "5"})
    await answers(h, [500] * 5)
    h.clock.advance(5)
    h.upstream.proxy = respond(200)
    assert (await h.send("GET", "/tasks")).status == 200
    assert len(h.upstream.health_checks) == 2


async def test_idempotency_headers_pass_through_both_ways():
    h = Harness.local()
    h.upstream.proxy = respond(201, [("idempotent-replayed", "true"), ("content-type", "application/json")], b"{}")
    response = await h.send("POST", "/tasks", [("idempotency-key", '"k-1"')], b"{}")
    assert h.upstream.proxied[0].header("idempotency-key") == '"k-1"'
    assert response.headers.get("idempotent-replayed") == "true"


async def test_health_is_shared_through_kv_on_a_cloud_gateway():
    h = Harness.cloud({"cf-d1": cloud_doc()})
    await h.send("GET", "/t", [("x-backend", "cf-d1")])
    await h.deferred.drain()
    assert json.loads(h.kv.data["health:cf-d1@cloud"])["status"] == "healthy"
    assert h.kv.ttls["health:cf-d1@cloud"] >= 60


async def test_health_check_for_a_secured_backend_carries_its_credentials():
    h = Harness.cloud({"cf-d1": ACCESS_DOC}, SECRETS)
    await h.send("GET", "/t", [("x-backend", "cf-d1")])
    (check,) = h.upstream.health_checks
    assert check.header("cf-access-client-id") == SECRETS["D1_ACCESS_ID"]


# Proxy ---------------------------------------------------------------------------


async def test_method_path_query_and_body_object_are_forwarded():
    h = Harness.local()
    body = object()
    await h.send("PATCH", "/tasks/42?fields=a,b&x=%2F", [("content-type", "application/json")], body)
    (call,) = h.upstream.proxied
    assert call.method == "PATCH"
    assert call.url == BUN_URL + "/tasks/42?fields=a,b&x=%2F"
    assert call.body is body
    assert call.header("content-type") == "application/json"


async def test_upstream_answer_reaches_the_client_untouched():
    h = Harness.local()
    upstream_body = object()
    h.upstream.proxy = respond(
        418, [("content-type", "text/x-tea"), ("set-cookie", "a=1"), ("set-cookie", "b=2")], upstream_body
    )
    response = await h.send("GET", "/tasks")
    assert response.status == 418
    assert response.body is upstream_body
    assert response.headers.get("content-type") == "text/x-tea"
    assert [v for k, v in response.headers.items() if k == "set-cookie"] == ["a=1", "b=2"]


async def test_upstream_error_status_is_passed_through_not_rendered():
    h = Harness.local()
    h.upstream.proxy = respond(500, [("content-type", "text/plain")], b"backend broke")
    response = await h.send("GET", "/tasks")
    assert (response.status, response.body) == (500, b"backend broke")


async def test_hop_by_hop_headers_are_stripped_towards_the_upstream():
    h = Harness.local()
    await h.send(
        "GET",
        "/tasks",
        [
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "300"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("proxy-authorization", "Basic x"),
            ("transfer-encoding", "chunked"),
            ("trailer", "x"),
            ("x-public", "2"),
        ],
    )
    (call,) = h.upstream.proxied
    assert call.names().isdisjoint(
        {
            "connection",
            "x-private",
            "keep-alive",
            "te",
            "upgrade",
            "proxy-authorization",
            "transfer-encoding",
            "trailer",
        }
    )
    assert call.header("x-public") == "2"


UNDERSCORED = [("transfer_encoding", "chunked"), ("Content_Length", "99"), ("x-public", "2")]


async def test_underscored_request_fields_are_dropped_by_default():
    h = Harness.local()
    response = await h.send("POST", "/tasks", [("content-length", "2"), *UNDERSCORED], b"ab")
    assert response.status == 200
    (call,) = h.upstream.proxied
    assert {"transfer_encoding", "content_length"}.isdisjoint(call.names())
    assert call.header("x-public") == "2"
    assert call.header("content-length") == "2"


async def test_underscored_request_field_is_a_400_that_never_reaches_the_upstream_when_rejected():
    h = Harness.local({"UNDERSCORE_HEADERS": "reject"})
    response = await h.send("GET", "/tasks", UNDERSCORED)
    error = assert_error(response, 400, "bad_request")
    assert "_" in error["message"]
    assert h.upstream.proxied == []


async def test_request_without_underscored_fields_passes_when_rejecting():
    h = Harness.local({"UNDERSCORE_HEADERS": "reject"})
    response = await h.send("GET", "/tasks", [("x-public", "2")])
    assert response.status == 200
    assert len(h.upstream.proxied) == 1


async def test_underscored_request_fields_reach_the_upstream_when_allowed():
    h = Harness.local({"UNDERSCORE_HEADERS": "allow"})
    await h.send("GET", "/tasks", UNDERSCORED)
    (call,) = h.upstream.proxied
    assert call.header("transfer_encoding") == "chunked"
    assert call.header("content_length") == "99"


async def test_hop_by_hop_headers_are_stripped_towards_the_client():
    h = Harness.local()
    h.upstream.proxy = respond(200, HOP_BY_HOP_ANSWER)
    response = await h.send("GET", "/tasks")
    names = {k for k, _ in response.headers.items()}
    assert names.isdisjoint(
        {"connection", "x-private", "keep-alive", "transfer-encoding", "proxy-authenticate", "upgrade"}
    )
    assert response.headers.get("x-public") == "2"


async def test_forwarding_headers_reach_the_upstream():
    h = Harness.local()
    await h.send(
        "GET",
        "/tasks",
        [("x-forwarded-for", "198.51.100.9"), ("host", "gw.example")],
        client_ip="203.0.113.7",
        base="https://gw.example:8443",
    )
    (call,) = h.upstream.proxied
    assert call.header("x-forwarded-for") == "198.51.100.9, 203.0.113.7"
    assert call.header("x-forwarded-proto") == "https"
    assert call.header("x-forwarded-host") == "gw.example:8443"
    assert call.header("x-gateway-version") == __version__
    assert call.header("host") is None


async def test_well_formed_request_id_is_kept_both_ways():
    h = Harness.local()
    response = await h.send("GET", "/tasks", [("x-request-id", "client-rid.42")])
    assert h.upstream.proxied[0].header("x-request-id") == "client-rid.42"
    assert response.headers.get("x-request-id") == "client-rid.42"


@pytest.mark.parametrize("incoming", ["bad id", "x" * 129, "<script>"])
async def test_malformed_request_id_is_replaced_both_ways(incoming):
    h = Harness.local()
    response = await h.send("GET", "/tasks", [("x-request-id", incoming)])
    sent = h.upstream.proxied[0].header("x-request-id")
    assert sent != incoming
    assert response.headers.get("x-request-id") == sent


async def test_request_id_is_returned_even_when_the_upstream_sets_its_own():
    h = Harness.local()
    h.upstream.proxy = respond(200, [("x-request-id", "upstream-rid")])
    response = await h.send("GET", "/tasks", [("x-request-id", "client-rid")])
    assert [v for k, v in response.headers.items() if k == "x-request-id"] == ["client-rid"]


@pytest.mark.parametrize(
    "target",
    [
        "https://gw.example//evil.example/x",
        "https://gw.example/@evil.example/x",
        "http://evil.example/x",
        "https://gw.example/%2F%2Fevil.example/x",
    ],
)
async def test_path_tricks_never_change_the_upstream_host(target):
    h = Harness.local()
    await h.send("GET", target)
    assert {c.host for c in h.upstream.calls} == {"bun.internal:3000"}


async def test_no_upstream_headers_within_the_timeout_is_upstream_timeout():
    h = Harness.local({"UPSTREAM_TIMEOUT_MS": "50"})
    h.upstream.proxy = h.upstream.hang()
    response = await h.send("GET", "/tasks")
    assert_error(response, 504, "upstream_timeout")
    assert h.upstream.cancelled == 1


async def test_the_runtime_fetch_is_given_the_upstream_and_health_deadlines():
    h = Harness.local({"UPSTREAM_TIMEOUT_MS": "1250", "HEALTH_TIMEOUT_MS": "300"})
    await h.send("GET", "/tasks")
    assert [(c.path, t) for c, t in zip(h.upstream.calls, h.upstream.timeouts, strict=True)] == [
        ("/health", 0.3),
        ("/tasks", 1.25),
    ]


async def test_refused_connection_is_backend_unavailable():
    h = Harness.local()
    h.upstream.proxy = fail(UpstreamConnectError, "ECONNREFUSED http://bun.internal:3000")
    assert_error(await h.send("GET", "/tasks"), 503, "backend_unavailable")


async def test_malformed_upstream_answer_is_bad_gateway():
    h = Harness.local()
    h.upstream.proxy = fail(UpstreamProtocolError, "HTTP/1.1 9999 ???")
    assert_error(await h.send("GET", "/tasks"), 502, "bad_gateway")


async def test_unexpected_exception_in_fetch_is_internal_error_without_details():
    h = Harness.local()
    h.upstream.proxy = fail(KeyError, "http://bun.internal:3000 secret-detail")
    response = await h.send("GET", "/tasks")
    error = assert_error(response, 500, "internal_error")
    assert error["message"] == "Internal error"
    assert b"secret-detail" not in response.body and b"Traceback" not in response.body
    (line,) = h.logs.requests()
    assert line["outcome"] == "error:internal:KeyError"
    assert "secret-detail" not in "\n".join(h.logs)


# CORS ----------------------------------------------------------------------------


def preflight_headers(origin: str = APP) -> list[tuple[str, str]]:
    return [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        ("access-control-request-headers", "x-backend, content-type"),
    ]


async def test_preflight_is_answered_without_auth_or_backend():
    limiter = FakeLimiter(allow=False)
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP, "API_KEY": API_KEY}, limiter=limiter)
    response = await h.send("OPTIONS", "/tasks", preflight_headers())
    assert response.status == 204
    assert response.headers.get("access-control-allow-origin") == APP
    allowed = {v.strip() for v in response.headers.get("access-control-allow-headers").split(",")}
    assert {"x-backend", "x-backend-location", "content-type", "authorization", "x-api-key", "x-request-id"} <= allowed
    assert "Origin" in response.headers.get("vary")
    assert response.headers.get("x-request-id")
    assert h.upstream.calls == []
    assert limiter.keys == []


async def test_preflight_from_unlisted_origin_is_rejected():
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP})
    response = await h.send("OPTIONS", "/tasks", preflight_headers("https://evil.example"))
    assert_error(response, 403, "origin_not_allowed")
    assert not response.headers.has("access-control-allow-origin")
    assert h.upstream.calls == []


async def test_answer_to_listed_origin_carries_cors_headers():
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP})
    response = await h.send("GET", "/tasks", [("origin", APP)])
    assert response.headers.get("access-control-allow-origin") == APP
    assert "x-request-id" in response.headers.get("access-control-expose-headers")
    assert "Origin" in response.headers.get("vary")


async def test_error_answer_to_listed_origin_carries_cors_headers():
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP, "API_KEY": API_KEY})
    response = await h.send("GET", "/tasks", [("origin", APP)])
    assert_error(response, 401, "unauthorized")
    assert response.headers.get("access-control-allow-origin") == APP
    assert "x-request-id" in response.headers.get("access-control-expose-headers")


async def test_upstream_cannot_grant_an_unlisted_origin():
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP})
    h.upstream.proxy = respond(
        200, [("access-control-allow-origin", "https://evil.example"), ("access-control-allow-credentials", "true")]
    )
    response = await h.send("GET", "/tasks", [("origin", "https://evil.example")])
    assert response.status == 200
    assert not response.headers.has("access-control-allow-origin")
    assert not response.headers.has("access-control-allow-credentials")


async def test_upstream_cannot_grant_an_origin_when_cors_is_off():
    h = Harness.local()
    h.upstream.proxy = respond(200, [("access-control-allow-origin", "https://evil.example")])
    response = await h.send("GET", "/tasks", [("origin", "https://evil.example")])
    assert not response.headers.has("access-control-allow-origin")


async def test_star_allows_any_origin():
    h = Harness.local({"CORS_ALLOW_ORIGINS": "*"})
    response = await h.send("GET", "/tasks", [("origin", "https://any.example")])
    assert response.headers.get("access-control-allow-origin") == "*"


# Auth ----------------------------------------------------------------------------


async def test_request_without_key_is_unauthorized_with_bearer_challenge():
    h = Harness.local({"API_KEY": API_KEY})
    response = await h.send("GET", "/tasks")
    assert_error(response, 401, "unauthorized")
    assert response.headers.get("www-authenticate").startswith("Bearer")
    assert h.upstream.calls == []


async def test_wrong_key_is_unauthorized():
    h = Harness.local({"API_KEY": API_KEY})
    assert_error(await h.send("GET", "/tasks", [("x-api-key", "nope")]), 401, "unauthorized")


@pytest.mark.parametrize("credential", [("authorization", f"Bearer {API_KEY}"), ("x-api-key", API_KEY)])
async def test_valid_key_is_accepted_and_removed_before_forwarding(credential):
    h = Harness.local({"API_KEY": API_KEY})
    response = await h.send("GET", "/tasks", [credential])
    assert response.status == 200
    (call,) = h.upstream.proxied
    assert call.names().isdisjoint({"authorization", "x-api-key"})
    assert API_KEY not in json.dumps(call.headers)


async def test_gateway_health_needs_no_key():
    h = Harness.local({"API_KEY": API_KEY})
    assert (await h.send("GET", "/_gateway/health")).status == 200


async def test_gateway_backends_needs_the_key():
    h = Harness.local({"API_KEY": API_KEY})
    assert_error(await h.send("GET", "/_gateway/backends"), 401, "unauthorized")
    assert (await h.send("GET", "/_gateway/backends", [("x-api-key", API_KEY)])).status == 200


async def test_without_api_key_the_clients_authorization_goes_to_the_backend():
    h = Harness.local()
    await h.send("GET", "/tasks", [("authorization", "Bearer for-the-backend")])
    assert h.upstream.proxied[0].header("authorization") == "Bearer for-the-backend"


# Gateway endpoints ---------------------------------------------------------------


async def test_gateway_health_reports_status_version_environment():
    h = Harness.local()
    response = await h.send("GET", "/_gateway/health")
    assert response.status == 200
    assert response.headers.get("content-type") == "application/json"
    assert json_of(response) == {"status": "ok", "version": __version__, "environment": "local"}
    assert h.upstream.calls == []


async def test_head_of_gateway_health_has_the_get_headers_and_no_body():
    h = Harness.local()
    get = await h.send("GET", "/_gateway/health")
    head = await h.send("HEAD", "/_gateway/health")
    assert head.status == 200
    assert head.body is None
    assert head.headers.get("content-length") == get.headers.get("content-length")


@pytest.mark.parametrize("path", ["/_gateway/%68ealth", "/_gateway/health"])
async def test_gateway_health_is_matched_on_the_decoded_path(path):
    h = Harness.local()
    response = await h.send("GET", path)
    assert response.status == 200
    assert h.upstream.calls == []


async def test_gateway_prefix_without_slash_is_not_proxied():
    h = Harness.local()
    response = await h.send("GET", "/_gateway")
    assert_error(response, 404, "not_found")
    assert h.upstream.calls == []


@pytest.mark.parametrize("length", ["abc", "10, 11", "-1"])
async def test_malformed_content_length_is_400_and_not_forwarded(length):
    h = Harness.local()
    response = await h.send("POST", "/tasks", headers=[("content-length", length)])
    assert_error(response, 400, "bad_request")
    assert h.upstream.calls == []


async def test_repeated_equal_content_lengths_are_one_length():
    h = Harness.local({"MAX_BODY_BYTES": "5"})
    response = await h.send("POST", "/tasks", headers=[("content-length", "10"), ("content-length", "10")])
    assert_error(response, 413, "payload_too_large")


async def test_gateway_health_on_a_cloud_gateway_says_cloud():
    h = Harness.cloud({})
    assert json_of(await h.send("GET", "/_gateway/health"))["environment"] == "cloud"


async def test_gateway_health_with_wrong_method_is_405_with_allow():
    h = Harness.local()
    response = await h.send("POST", "/_gateway/health")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers.get("allow") == "GET, HEAD"


async def test_gateway_backends_with_wrong_method_is_405_with_allow():
    h = Harness.local()
    response = await h.send("DELETE", "/_gateway/backends")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers.get("allow")
    assert h.upstream.calls == []


@pytest.mark.parametrize("path", ["/_gateway/nope", "/_gateway/", "/_gateway/health/extra", "/_gateway/backends/x"])
async def test_unknown_gateway_endpoint_is_not_found_and_not_proxied(path):
    h = Harness.local()
    assert_error(await h.send("GET", path), 404, "not_found")
    assert h.upstream.calls == []


async def test_gateway_backends_lists_each_backend_by_location_without_urls():
    h = Harness.local(HYBRID)
    response = await h.send("GET", "/_gateway/backends")
    assert response.status == 200
    assert b"internal" not in response.body and b"example.com" not in response.body
    doc = json_of(response)
    by_id = {b["id"]: b for b in doc["backends"]}
    assert set(by_id) == {"bun-sqlite", "cf-d1"}
    d1 = by_id["cf-d1"]
    assert set(d1) == {"id", "name", "locations"}
    assert d1["name"] == "D1"
    assert set(d1["locations"]) == {"local", "cloud"}
    assert d1["locations"]["cloud"] == {
        "type": "cloud",
        "region": None,
        "health": {"status": "healthy", "checked_at": h.clock.wall(), "latency_ms": 0.0},
    }
    assert h.upstream.proxied == []  # only health checks: the listing checks never-checked entries


async def test_gateway_backends_checks_entries_no_request_has_used_yet():
    h = Harness.local(HYBRID)
    h.upstream.health = respond(503)
    doc = json_of(await h.send("GET", "/_gateway/backends"))
    shown = {(b["id"], loc): v["health"]["status"] for b in doc["backends"] for loc, v in b["locations"].items()}
    assert shown == {
        ("bun-sqlite", "local"): "unhealthy",
        ("cf-d1", "local"): "unhealthy",
        ("cf-d1", "cloud"): "unhealthy",
    }
    assert len(h.upstream.health_checks) == 3


async def test_gateway_backends_rechecks_a_healthy_result_past_the_ttl_before_showing_it():
    h = Harness.local({"HEALTH_TTL_S": "30"})
    await h.send("GET", "/tasks")
    h.upstream.health = respond(503)  # it died since
    h.clock.advance(30)
    health = json_of(await h.send("GET", "/_gateway/backends"))["backends"][0]["locations"]["local"]["health"]
    assert health["status"] == "unhealthy"
    assert health["checked_at"] == h.clock.wall()


async def test_gateway_backends_shows_a_fresh_result_without_a_check():
    h = Harness.local({"HEALTH_TTL_S": "30"})
    await h.send("GET", "/tasks")
    h.clock.advance(29)
    await h.send("GET", "/_gateway/backends")
    assert len(h.upstream.health_checks) == 1


async def test_gateway_backends_shows_a_hung_backend_unhealthy_and_the_others_healthy():
    h = Harness.local({**HYBRID, "HEALTH_TIMEOUT_MS": "50"})
    hang = h.upstream.hang()
    healthy = respond(200)

    async def health(call):
        return await (hang if call.host == "bun.internal:3000" else healthy)(call)

    h.upstream.health = health
    doc = json_of(await h.send("GET", "/_gateway/backends"))
    shown = {(b["id"], loc): v["health"]["status"] for b in doc["backends"] for loc, v in b["locations"].items()}
    assert shown == {("bun-sqlite", "local"): "unhealthy", ("cf-d1", "local"): "healthy", ("cf-d1", "cloud"): "healthy"}
    assert h.upstream.timeouts == [0.05, 0.05, 0.05]  # each check bounded by HEALTH_TIMEOUT_MS


async def test_gateway_backends_shows_the_last_health_result():
    h = Harness.local()
    await h.send("GET", "/tasks")
    h.clock.advance(1)
    health = json_of(await h.send("GET", "/_gateway/backends"))["backends"][0]["locations"]["local"]["health"]
    assert health["status"] == "healthy"
    assert health["checked_at"] == h.clock.wall() - 1
    assert health["latency_ms"] is not None


async def test_gateway_backends_on_a_cloud_gateway_shows_region_not_url():
    h = Harness.cloud({"cf-d1": ACCESS_DOC}, SECRETS)
    response = await h.send("GET", "/_gateway/backends")
    (entry,) = json_of(response)["backends"]
    assert entry["locations"]["cloud"]["region"] == "eu-west"
    assert b"d1.example.com" not in response.body
    for value in SECRETS.values():
        assert value.encode() not in response.body


# Errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "proxy", "health", "status", "code"),
    [
        ([("x-backend", "nope")], None, None, 400, "unknown_backend"),
        ([("x-backend-location", "cloud")], None, None, 400, "location_unavailable"),
        ([], fail(UpstreamConnectError, BUN_URL), None, 503, "backend_unavailable"),
        ([], fail(UpstreamProtocolError, BUN_URL), None, 502, "bad_gateway"),
        ([], fail(RuntimeError, BUN_URL), None, 500, "internal_error"),
        ([], None, respond(500), 503, "backend_unhealthy"),
        ([], None, fail(UpstreamConnectError, BUN_URL), 503, "backend_unhealthy"),
    ],
)
async def test_error_bodies_never_show_a_backend_url(headers, proxy, health, status, code):
    h = Harness.local()
    if proxy:
        h.upstream.proxy = proxy
    if health:
        h.upstream.health = health
    response = await h.send("GET", "/tasks", headers)
    assert_error(response, status, code)
    assert b"bun.internal" not in response.body
    assert b"Traceback" not in response.body


# Logs ----------------------------------------------------------------------------


async def test_one_log_line_per_proxied_request():
    h = Harness.local()

    async def slow(call):
        h.clock.advance(0.25)
        return await respond(201)(call)

    h.upstream.proxy = slow
    response = await h.send("POST", "/tasks?token=abc", [("x-request-id", "rid-1")])
    (line,) = h.logs.requests()
    assert set(line) == REQUEST_LINE_FIELDS
    assert line["request_id"] == response.headers.get("x-request-id") == "rid-1"
    routed = (line["method"], line["path"], line["backend"], line["location"])
    assert routed == ("POST", "/tasks", "bun-sqlite", "local")
    assert (line["status"], line["outcome"]) == (201, "proxied")
    assert line["upstream_ms"] == 250.0
    assert line["duration_ms"] == 250.0
    assert "abc" not in h.logs[-1]


async def test_error_requests_are_logged_with_their_code():
    h = Harness.local()
    await h.send("GET", "/tasks", [("x-backend", "nope")])
    (line,) = h.logs.requests()
    assert (line["status"], line["outcome"], line["backend"]) == (400, "error:unknown_backend", "nope")


async def test_gateway_endpoints_and_preflights_are_logged():
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP})
    await h.send("GET", "/_gateway/health")
    await h.send("OPTIONS", "/tasks", preflight_headers())
    assert [(line["outcome"], line["status"]) for line in h.logs.requests()] == [("gateway", 200), ("preflight", 204)]


async def test_secrets_and_credentials_never_reach_the_log():
    h = Harness.cloud(
        {
            "cf-d1": ACCESS_DOC,
            "tok": cloud_doc("tok", bearerTokenSecret="D1_TOKEN"),
            "gone": cloud_doc("gone", bearerTokenSecret="NOT_SET"),
        },
        {**SECRETS, "API_KEY": API_KEY},
    )
    auth = [("authorization", f"Bearer {API_KEY}")]
    await h.send("GET", "/t", [*auth, ("x-backend", "cf-d1")])
    await h.send("GET", "/t", [("x-api-key", API_KEY), ("x-backend", "tok")])
    await h.send("GET", "/t", [*auth, ("x-backend", "gone")])
    await h.send("GET", "/t", [("authorization", "Bearer wrong-key-guess"), ("x-backend", "cf-d1")])
    h.upstream.proxy = fail(UpstreamConnectError, "x")
    h.upstream.health = fail(UpstreamConnectError, SECRETS["D1_TOKEN"])
    h.clock.advance(1000)
    await h.send("GET", "/t", [*auth, ("x-backend", "tok")])
    await h.send("GET", "/_gateway/backends", auth)
    await h.deferred.drain()
    text = "\n".join(h.logs)
    assert len(h.logs.requests()) == 6
    for secret in [API_KEY, "wrong-key-guess", *SECRETS.values()]:
        assert secret not in text


# Settings, limits, rate limiting -------------------------------------------------


async def test_bad_setting_answers_misconfigured_naming_the_variable():
    h = Harness.local({"UPSTREAM_TIMEOUT_MS": "soon"})
    response = await h.send("GET", "/tasks", [("x-request-id", "rid-9")])
    error = assert_error(response, 500, "misconfigured")
    assert "UPSTREAM_TIMEOUT_MS" in error["message"]
    assert error["request_id"] == "rid-9"
    assert h.upstream.calls == []
    (event,) = h.logs.events("misconfigured")
    assert event["variable"] == "UPSTREAM_TIMEOUT_MS"


async def test_bad_backend_url_answers_misconfigured_naming_the_variable():
    h = Harness.local({"BACKEND_CF_D1_URL": "not a url"})
    assert "BACKEND_CF_D1_URL" in assert_error(await h.send("GET", "/t"), 500, "misconfigured")["message"]


async def test_misconfigured_gateway_still_logs_one_line_per_request():
    h = Harness.local({"HEALTH_TTL_S": "-1"})
    await h.send("GET", "/a")
    await h.send("GET", "/b")
    assert [(line["path"], line["status"]) for line in h.logs.requests()] == [("/a", 500), ("/b", 500)]


async def test_misconfigured_answer_to_listed_origin_carries_cors_headers():
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP, "HEALTH_TTL_S": "often"})
    response = await h.send("GET", "/t", [("origin", APP)])
    assert_error(response, 500, "misconfigured")
    assert response.headers.get("access-control-allow-origin") == APP
    assert "Origin" in (response.headers.get("vary") or "")


def test_cloud_gateway_without_kv_raises_settings_error_for_start_up():
    h = Harness.local()
    settings = Settings.from_env({"ENVIRONMENT": "cloud"})
    with pytest.raises(SettingsError) as err:
        Gateway(settings, dataclasses.replace(h.platform, kv=None))
    assert err.value.variable == "BACKEND_CONFIG_KV"


def test_built_gateway_keeps_frozen_settings():
    h = Harness.local()
    gateway = build_gateway(h.env, h.platform)
    with pytest.raises(dataclasses.FrozenInstanceError):
        gateway.settings.api_key = "x"  # type: ignore[misc]


async def test_oversized_headers_are_431():
    h = Harness.local({"MAX_HEADER_BYTES": "1024"})
    response = await h.send("GET", "/tasks", [("x-big", "a" * 2000)])
    assert_error(response, 431, "headers_too_large")
    assert h.upstream.calls == []


async def test_headers_under_the_limit_pass():
    h = Harness.local({"MAX_HEADER_BYTES": "1024"})
    assert (await h.send("GET", "/tasks", [("x-small", "a" * 500)])).status == 200


async def test_declared_body_over_the_limit_is_413():
    h = Harness.local({"MAX_BODY_BYTES": "100"})
    response = await h.send("POST", "/tasks", [("content-length", "101")], b"x" * 101)
    assert_error(response, 413, "payload_too_large")
    assert h.upstream.calls == []


async def test_declared_body_at_the_limit_passes():
    h = Harness.local({"MAX_BODY_BYTES": "100"})
    assert (await h.send("POST", "/tasks", [("content-length", "100")], b"x" * 100)).status == 200


async def test_rate_limited_request_is_429_with_retry_after():
    limiter = FakeLimiter(allow=False)
    h = Harness.local({"RATE_LIMIT_PERIOD_S": "30"}, limiter=limiter)
    response = await h.send("GET", "/tasks", client_ip="198.51.100.4")
    assert_error(response, 429, "rate_limited")
    assert response.headers.get("retry-after") == "30"
    assert limiter.keys == ["198.51.100.4"]
    assert h.upstream.calls == []


async def test_allowed_request_passes_the_rate_limiter():
    limiter = FakeLimiter(allow=True)
    h = Harness.local(limiter=limiter)
    assert (await h.send("GET", "/tasks")).status == 200
    assert limiter.keys == ["203.0.113.7"]


async def test_gateway_health_is_exempt_from_rate_limiting():
    limiter = FakeLimiter(allow=False)
    h = Harness.local(limiter=limiter)
    assert (await h.send("GET", "/_gateway/health")).status == 200
    assert limiter.keys == []


async def test_preflight_is_exempt_from_rate_limiting():
    limiter = FakeLimiter(allow=False)
    h = Harness.local({"CORS_ALLOW_ORIGINS": APP}, limiter=limiter)
    assert (await h.send("OPTIONS", "/tasks", preflight_headers())).status == 204
    assert limiter.keys == []


async def test_concurrent_requests_through_the_pipeline_share_one_health_check():
    h = Harness.local()
    release = asyncio.Event()

    async def slow_health(call):
        await release.wait()
        return await respond(200)(call)

    h.upstream.health = slow_health
    pending = [asyncio.ensure_future(h.send("GET", f"/tasks/{i}")) for i in range(4)]
    await asyncio.sleep(0.01)
    release.set()
    responses = await asyncio.gather(*pending)
    assert [r.status for r in responses] == [200] * 4
    assert len(h.upstream.health_checks) == 1


# Metrics --------------------------------------------------------------------------


async def test_metrics_endpoint_is_404_where_the_runtime_keeps_none():
    h = Harness.local()
    assert_error(await h.send("GET", "/_gateway/metrics"), 404, "not_found")


async def test_metrics_endpoint_is_404_where_the_runtime_records_without_exposing():
    class Recorder:  # what the Worker's Analytics Engine recorder looks like to the core
        exposes = False

        def __init__(self) -> None:
            self.lines: list[str] = []

        def started(self) -> None:
            pass

        def finished(self, line) -> None:
            self.lines.append(line.outcome)

        def exposition(self, health):
            raise AssertionError("a recorder that does not expose is never asked for an exposition")

    recorder = Recorder()
    h = Harness.local(metrics=recorder)
    assert_error(await h.send("GET", "/_gateway/metrics"), 404, "not_found")
    assert_error(await h.send("POST", "/_gateway/metrics"), 404, "not_found")
    assert recorder.lines == ["error:not_found", "error:not_found"]


async def test_metrics_count_routed_answers_and_show_health_without_urls():
    from local_runner.metrics import PrometheusMetrics

    h = Harness.local(HYBRID, metrics=PrometheusMetrics())
    await h.send("GET", "/tasks")
    await h.send("GET", "/tasks", [("x-backend", "nope-123")])
    response = await h.send("GET", "/_gateway/metrics")
    assert response.status == 200
    assert response.headers.get("content-type").startswith("text/plain; version=0.0.4")
    text = response.body.decode()
    assert 'gateway_requests_total{backend="bun-sqlite",location="local",status_class="2xx"} 1.0' in text
    assert 'gateway_requests_total{backend="-",location="-",status_class="4xx"} 1.0' in text
    assert 'gateway_backend_healthy{backend="bun-sqlite",location="local"} 1.0' in text
    assert "nope-123" not in text and "://" not in text


async def test_metrics_need_the_api_key_when_one_is_set():
    from local_runner.metrics import PrometheusMetrics

    h = Harness.local({"API_KEY": API_KEY}, metrics=PrometheusMetrics())
    assert_error(await h.send("GET", "/_gateway/metrics"), 401, "unauthorized")
    allowed = await h.send("GET", "/_gateway/metrics", [("x-api-key", API_KEY)])
    assert allowed.status == 200
