"""The dimensions of an answered request and the Analytics Engine data point cut from them."""

from __future__ import annotations

from gateway.metrics import BLOBS, DOUBLES, NO_BACKEND, data_point, dimensions

# The twin's tests build request lines the same way: one helper for both.
from tests.unit.local_runner.test_metrics import line


def test_a_proxied_answer_has_its_backend_location_class_and_both_times():
    found = dimensions(line())
    assert (found.backend, found.location, found.status_class) == ("bun-sqlite", "local", "2xx")
    assert (found.gateway_ms, found.upstream_ms) == (0.5, 12.0)
    assert (found.failure_kind, found.rate_limited) == (None, False)


def test_an_unrouted_answer_never_carries_the_client_chosen_backend():
    found = dimensions(line(status=400, outcome="error:unknown_backend", routed=False, backend="random-x1"))
    assert (found.backend, found.location) == (NO_BACKEND, NO_BACKEND)


def test_status_classes_are_clamped_to_1xx_through_5xx():
    assert [dimensions(line(status=s)).status_class for s in (101, 204, 304, 404, 503, 0, 999)] == [
        "1xx", "2xx", "3xx", "4xx", "5xx", "1xx", "5xx",
    ]  # fmt: skip


def test_upstream_failures_map_to_refused_timeout_and_protocol():
    outcomes = ("error:backend_unavailable", "error:upstream_timeout", "error:bad_gateway", "error:backend_unhealthy")
    assert [dimensions(line(status=503, outcome=o)).failure_kind for o in outcomes] == [
        "refused", "timeout", "protocol", None,
    ]  # fmt: skip


def test_the_gateway_time_excludes_the_upstream_time_and_is_never_negative():
    assert dimensions(line(duration_ms=3.0, upstream_ms=None)).gateway_ms == 3.0
    assert dimensions(line(duration_ms=3.0, upstream_ms=3.5)).gateway_ms == 0.0


def test_a_data_point_has_the_documented_columns_in_order():
    blobs, doubles, indexes = data_point(line())
    assert len(blobs) == len(BLOBS) and len(doubles) == len(DOUBLES)
    assert blobs == ["bun-sqlite", "local", "2xx", "-"]
    assert doubles == [200.0, 0.5, 12.0, 1.0, 0.0]
    assert indexes == ["bun-sqlite"]


def test_a_data_point_without_an_upstream_has_zero_time_and_zero_exchanges():
    blobs, doubles, indexes = data_point(line(status=401, outcome="error:unauthorized", routed=False, upstream_ms=None))
    assert blobs == ["-", "-", "4xx", "-"]
    assert doubles == [401.0, 12.5, 0.0, 0.0, 0.0]
    assert indexes == ["-"]


def test_a_rate_limited_data_point_is_marked():
    _, doubles, _ = data_point(line(status=429, outcome="error:rate_limited", routed=False, upstream_ms=None))
    assert doubles[DOUBLES.index("rate_limited")] == 1.0


def test_a_data_point_carries_no_path_method_or_request_id():
    request = line(outcome="error:upstream_timeout", status=504)
    request.method, request.path, request.request_id = "POST", "/tasks/secret-path", "rid-0123"
    blobs, _, indexes = data_point(request)
    assert blobs == ["bun-sqlite", "local", "5xx", "timeout"]
    assert not {"/tasks/secret-path", "POST", "rid-0123"} & {*blobs, *indexes}
