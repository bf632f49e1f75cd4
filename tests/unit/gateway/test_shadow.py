"""Shadow traffic with a fake platform: the client's side unchanged, the shadow's side asserted."""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.errors import UpstreamConnectError, UpstreamProtocolError
from gateway.headers import HeaderMap
from gateway.runtime import Response
from gateway.settings import Settings, SettingsError
from gateway.shadow import Difference, compare_bodies
from tests.unit.fakes import D1_LOCAL_URL, Call, Harness, json_of

D1 = {"BACKEND_CF_D1_URL": D1_LOCAL_URL}
D1_HOST = "d1.internal:8788"
BUN_HOST = "bun.internal:3000"
SHADOW = [("x-backend-shadow", "cf-d1")]


def json_answer(document: object, *, length: bool = True, status: int = 200) -> Response:
    body = json.dumps(document).encode()
    headers = [("content-type", "application/json")] + ([("content-length", str(len(body)))] if length else [])
    return Response(status, HeaderMap(headers), body)


def by_host(primary: Response | BaseException | None, shadow: Response | BaseException | None):
    """Answers the primary (bun-sqlite) and the shadow (cf-d1) differently; None hangs."""

    async def responder(call: Call) -> Response:
        answer = primary if call.host == BUN_HOST else shadow
        if answer is None:
            await asyncio.Event().wait()
        if isinstance(answer, BaseException):
            raise answer
        assert isinstance(answer, Response)
        return Response(answer.status, HeaderMap(list(answer.headers.items())), answer.body)

    return responder


def shadow_calls(h: Harness) -> list[Call]:
    return [c for c in h.upstream.proxied if c.host == D1_HOST]


def primary_calls(h: Harness) -> list[Call]:
    return [c for c in h.upstream.proxied if c.host == BUN_HOST]


async def counters(h: Harness) -> dict[str, int]:
    response = await h.send("GET", "/_gateway/shadow")
    assert response.status == 200
    return json_of(response)["counters"]


def harness(extra: dict[str, str] | None = None) -> Harness:
    return Harness.local({**D1, **(extra or {})})


# Which requests get a shadow -------------------------------------------------------


async def test_header_sends_a_copy_after_the_answer():
    h = harness()
    h.upstream.proxy = by_host(json_answer({"tasks": [1]}), json_answer({"tasks": [1]}))
    response = await h.send("GET", "/tasks?status=next", [*SHADOW, ("x-request-id", "abc")])
    assert response.status == 200
    assert json_of(response) == {"tasks": [1]}
    assert shadow_calls(h) == []  # nothing sent before the answer
    await h.deferred.drain()
    (shadow,) = shadow_calls(h)
    assert shadow.url == D1_LOCAL_URL + "/tasks?status=next"
    assert shadow.header("x-request-id") == "abc-shadow"
    assert primary_calls(h)[0].header("x-request-id") == "abc"
    for call in h.upstream.proxied:
        assert call.header("x-backend-shadow") is None
    assert await counters(h) == {**ZERO, "compared": 1, "equal": 1}


ZERO = {"compared": 0, "equal": 0, "differing": 0, "status_only": 0, "failed": 0, "dropped": 0, "skipped": 0}


async def test_shadow_header_is_not_forwarded_when_it_names_the_answering_backend():
    h = harness()
    await h.send("GET", "/tasks", [("x-backend-shadow", "bun-sqlite")])
    await h.deferred.drain()
    (call,) = h.upstream.proxied
    assert call.header("x-backend-shadow") is None
    assert h.deferred.tasks == []


async def test_setting_shadows_every_request_at_sample_rate_one():
    h = harness({"SHADOW_BACKEND": "cf-d1"})
    await h.send("GET", "/tasks")
    await h.send("HEAD", "/tasks")
    await h.deferred.drain()
    assert [c.method for c in shadow_calls(h)] == ["GET", "HEAD"]


async def test_sample_rate_zero_sends_no_shadow_but_the_header_still_does():
    h = harness({"SHADOW_BACKEND": "cf-d1", "SHADOW_SAMPLE_RATE": "0"})
    await h.send("GET", "/tasks")
    await h.send("GET", "/tasks", SHADOW)
    await h.deferred.drain()
    assert len(shadow_calls(h)) == 1


async def test_writes_are_not_shadowed_by_default():
    h = harness({"SHADOW_BACKEND": "cf-d1"})
    await h.send("POST", "/tasks", [("content-length", "2")], b"{}")
    await h.send("DELETE", "/tasks/1", SHADOW)
    await h.deferred.drain()
    assert shadow_calls(h) == []
    assert (await counters(h)) == ZERO


async def test_writes_are_shadowed_with_the_same_body_when_enabled():
    h = harness({"SHADOW_WRITES": "true"})

    received: list[bytes] = []

    async def stream():
        yield b'{"title":'
        yield b'"x"}'

    async def responder(call: Call) -> Response:
        if call.host == BUN_HOST:  # a backend reads the body before it answers
            received.append(b"".join([chunk async for chunk in call.body]))
        return json_answer({"ok": True})

    h.upstream.proxy = responder
    response = await h.send("POST", "/tasks", [*SHADOW, ("content-length", "13")], stream())
    assert response.status == 200
    await h.deferred.drain()
    (shadow,) = shadow_calls(h)
    assert received == [b'{"title":"x"}']
    assert shadow.body == b'{"title":"x"}'
    assert shadow.method == "POST"


async def test_a_write_without_a_declared_length_or_over_the_cap_is_skipped():
    h = harness({"SHADOW_WRITES": "true", "SHADOW_MAX_BODY_BYTES": "4"})

    async def stream():
        yield b"{}"

    await h.send("POST", "/tasks", SHADOW, stream())
    await h.send("POST", "/tasks", [*SHADOW, ("content-length", "5")], b"12345")
    await h.deferred.drain()
    assert shadow_calls(h) == []
    assert (await counters(h))["skipped"] == 2


async def test_invalid_shadow_id_is_skipped_and_the_client_is_served():
    h = harness()
    response = await h.send("GET", "/tasks", [("x-backend-shadow", "Not An Id")])
    assert response.status == 200
    assert (await counters(h))["skipped"] == 1


async def test_a_failed_primary_sends_no_shadow_and_frees_its_slot():
    h = harness({"SHADOW_MAX_CONCURRENT": "1"})
    h.upstream.proxy = by_host(UpstreamConnectError("refused"), json_answer({}))
    response = await h.send("GET", "/tasks", SHADOW)
    assert response.status == 503
    assert h.gateway_shadow().in_flight == 0
    assert shadow_calls(h) == []


# Comparison ----------------------------------------------------------------------------


async def test_key_order_and_ignored_fields_do_not_count_as_differences():
    h = harness()
    h.upstream.proxy = by_host(
        json_answer({"id": 1, "title": "a", "meta": {"updated_at": "t1", "n": 1}}),
        json_answer({"meta": {"n": 1.0, "updated_at": "t2"}, "title": "a", "id": 99}),
    )
    await h.send("GET", "/tasks/1", SHADOW)
    await h.deferred.drain()
    assert await counters(h) == {**ZERO, "compared": 1, "equal": 1}
    assert h.logs.events("shadow_divergence") == []


async def test_divergence_is_logged_once_with_both_ids_and_the_paths():
    h = harness()
    h.upstream.proxy = by_host(
        json_answer({"tasks": [{"title": "a", "status": "next"}]}),
        json_answer({"tasks": [{"title": "b", "status": "next"}, {"title": "c"}]}),
    )
    response = await h.send("GET", "/tasks", [*SHADOW, ("x-request-id", "r1")])
    assert json_of(response) == {"tasks": [{"title": "a", "status": "next"}]}
    await h.deferred.drain()
    (event,) = h.logs.events("shadow_divergence")
    assert event["request_id"] == "r1"
    assert event["shadow_request_id"] == "r1-shadow"
    assert event["shadow_backend"] == "cf-d1"
    assert event["status"] == {"primary": 200, "shadow": 200}
    assert event["paths"] == ["$.tasks[0].title", "$.tasks[1]"]
    assert event["diff"][0] == {"path": "$.tasks[0].title", "primary": "a", "shadow": "b"}
    assert event["diff"][1]["primary"] == "<absent>"
    assert await counters(h) == {**ZERO, "compared": 1, "differing": 1}


async def test_status_difference_is_a_divergence():
    h = harness()
    h.upstream.proxy = by_host(json_answer({"a": 1}), json_answer({"a": 1}, status=404))
    await h.send("GET", "/tasks/1", SHADOW)
    await h.deferred.drain()
    (event,) = h.logs.events("shadow_divergence")
    assert event["paths"] == ["status"]


async def test_primary_body_without_length_is_compared_by_status_only():
    h = harness()
    h.upstream.proxy = by_host(json_answer({"a": 1}, length=False), json_answer({"a": 2}))
    response = await h.send("GET", "/tasks", SHADOW)
    assert json_of(response) == {"a": 1}
    await h.deferred.drain()
    assert await counters(h) == {**ZERO, "compared": 1, "equal": 1, "status_only": 1}
    assert h.discarded  # the shadow's body released unread


async def test_primary_body_over_the_cap_is_not_copied():
    h = harness({"SHADOW_MAX_BODY_BYTES": "4"})
    h.upstream.proxy = by_host(json_answer({"a": 1}), json_answer({"a": 1}))
    await h.send("GET", "/tasks", SHADOW)
    await h.deferred.drain()
    assert (await counters(h))["status_only"] == 1


async def test_primary_stream_reaches_the_client_unchanged_while_copied():
    h = harness()

    async def stream():
        yield b'{"a":'
        yield b"1}"

    async def responder(call: Call) -> Response:
        if call.host == BUN_HOST:
            return Response(200, HeaderMap([("content-length", "7")]), stream())
        return json_answer({"a": 2})

    h.upstream.proxy = responder
    response = await h.send("GET", "/tasks", SHADOW)
    assert b"".join([chunk async for chunk in response.body]) == b'{"a":1}'
    await h.deferred.drain()
    (event,) = h.logs.events("shadow_divergence")
    assert event["paths"] == ["$.a"]


# A hostile shadow changes nothing for the client -----------------------------------------


async def test_hanging_shadow_times_out_in_the_background():
    h = harness({"SHADOW_TIMEOUT_MS": "50"})
    h.upstream.proxy = by_host(json_answer({"a": 1}), None)
    response = await h.send("GET", "/tasks", SHADOW)
    assert response.status == 200 and json_of(response) == {"a": 1}
    await h.deferred.drain()
    (event,) = h.logs.events("shadow_failed")
    assert event["reason"] in ("timeout", "upstream_timeout")
    assert (await counters(h))["failed"] == 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(UpstreamProtocolError("garbage"), "bad_gateway"), (UpstreamConnectError("refused"), "backend_unavailable")],
)
async def test_broken_shadow_is_counted_as_failed(answer, reason):
    h = harness()
    h.upstream.proxy = by_host(json_answer({"a": 1}), answer)
    response = await h.send("GET", "/tasks", SHADOW)
    assert response.status == 200
    await h.deferred.drain()
    assert [e["reason"] for e in h.logs.events("shadow_failed")] == [reason]


async def test_garbage_body_from_the_shadow_is_a_divergence():
    h = harness()
    garbage = Response(200, HeaderMap([("content-length", "5")]), b"\x00\xff{[x")
    h.upstream.proxy = by_host(json_answer({"a": 1}), garbage)
    response = await h.send("GET", "/tasks", SHADOW)
    assert json_of(response) == {"a": 1}
    await h.deferred.drain()
    (event,) = h.logs.events("shadow_divergence")
    assert event["paths"] == ["$"]


async def test_unknown_shadow_backend_fails_quietly():
    h = harness()
    response = await h.send("GET", "/tasks", [("x-backend-shadow", "nope")])
    assert response.status == 200
    await h.deferred.drain()
    assert [e["reason"] for e in h.logs.events("shadow_failed")] == ["unknown_backend"]


async def test_shadows_over_the_cap_are_dropped_and_counted():
    h = harness({"SHADOW_MAX_CONCURRENT": "1", "SHADOW_TIMEOUT_MS": "50"})
    h.upstream.proxy = by_host(json_answer({}), None)
    await h.send("GET", "/tasks", SHADOW)
    await h.send("GET", "/tasks", SHADOW)
    assert h.gateway_shadow().in_flight == 1
    await h.deferred.drain()
    assert h.gateway_shadow().in_flight == 0
    result = await counters(h)
    assert (result["dropped"], result["failed"]) == (1, 1)


# The counters endpoint -------------------------------------------------------------------


async def test_counters_endpoint_needs_the_api_key_when_set():
    h = harness({"API_KEY": "k" * 20, "SHADOW_BACKEND": "cf-d1"})
    denied = await h.send("GET", "/_gateway/shadow")
    assert denied.status == 401
    allowed = await h.send("GET", "/_gateway/shadow", [("x-api-key", "k" * 20)])
    report = json_of(allowed)
    assert report["backend"] == "cf-d1"
    assert report["counters"] == ZERO
    assert (await h.send("POST", "/_gateway/shadow", [("x-api-key", "k" * 20)])).status == 405


# Settings ------------------------------------------------------------------------------------


def test_shadow_settings_defaults():
    settings = Settings.from_env({"ENVIRONMENT": "local"})
    assert settings.shadow_backend is None
    assert settings.shadow_sample_rate == 1.0
    assert settings.shadow_writes is False
    assert settings.shadow_max_concurrent == 16
    assert settings.shadow_max_body_bytes == 256 * 1024
    assert settings.shadow_ignore_fields == {"id", "created_at", "updated_at"}


def test_shadow_settings_are_parsed():
    settings = Settings.from_env(
        {
            "ENVIRONMENT": "local",
            "SHADOW_BACKEND": " cf-d1 ",
            "SHADOW_SAMPLE_RATE": "0.25",
            "SHADOW_WRITES": "TRUE",
            "SHADOW_IGNORE_FIELDS": "etag, version",
            "SHADOW_TIMEOUT_MS": "1500",
        }
    )
    assert settings.shadow_backend == "cf-d1"
    assert settings.shadow_sample_rate == 0.25
    assert settings.shadow_writes is True
    assert settings.shadow_ignore_fields == {"etag", "version"}
    assert settings.shadow_timeout_s == 1.5


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHADOW_BACKEND", "Bad_Id"),
        ("SHADOW_SAMPLE_RATE", "1.5"),
        ("SHADOW_SAMPLE_RATE", "nan"),
        ("SHADOW_SAMPLE_RATE", "half"),
        ("SHADOW_WRITES", "yes"),
        ("SHADOW_MAX_CONCURRENT", "0"),
        ("SHADOW_TIMEOUT_MS", "x"),
    ],
)
def test_bad_shadow_setting_names_the_variable(variable, value):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({"ENVIRONMENT": "local", variable: value})
    assert raised.value.variable == variable


# Body comparison ---------------------------------------------------------------------------------


def test_compare_bodies_ignores_fields_at_any_depth():
    left = b'{"items":[{"id":1,"name":"a","created_at":"x"}],"id":3}'
    right = b'{"id":4,"items":[{"name":"a","id":2}]}'
    assert compare_bodies(left, right, frozenset({"id", "created_at"})) == []


def test_compare_bodies_tells_true_from_one_and_names_odd_keys():
    assert compare_bodies(b'{"a b":true}', b'{"a b":1}', frozenset()) == [Difference('$["a b"]', True, 1)]


def test_compare_bodies_non_json_compares_bytes():
    assert compare_bodies(b"same", b"same", frozenset()) == []
    assert compare_bodies(b"one", b"two", frozenset()) == [Difference("$", "one", "two")]


def test_compare_bodies_lists_at_most_twenty_paths():
    left = json.dumps({str(i): i for i in range(50)}).encode()
    right = json.dumps({str(i): -i - 1 for i in range(50)}).encode()
    assert len(compare_bodies(left, right, frozenset())) == 20
