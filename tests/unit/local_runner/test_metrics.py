"""The twin's Prometheus metrics: what a finished request line adds, and the exposition."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gateway.logs import RequestLog
from local_runner.metrics import PrometheusMetrics


def line(*, status: int = 200, outcome: str = "proxied", routed: bool = True, upstream_ms: float | None = 12.0,
         backend: str | None = "bun-sqlite", location: str | None = "local", duration_ms: float = 12.5) -> RequestLog:  # fmt: skip
    log = RequestLog.start(0.0, "rid", "GET", "/tasks")
    log.status, log.outcome, log.routed = status, outcome, routed
    log.backend, log.location = backend, location
    log.upstream_ms, log.duration_ms = upstream_ms, duration_ms
    return log


def samples(metrics: PrometheusMetrics, health=()) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    content_type, body = metrics.exposition(health)
    assert content_type.startswith("text/plain; version=0.0.4")
    found = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_a_proxied_answer_counts_by_backend_location_and_status_class():
    metrics = PrometheusMetrics()
    metrics.started()
    metrics.finished(line())
    found = samples(metrics)
    key = (("backend", "bun-sqlite"), ("location", "local"), ("status_class", "2xx"))
    assert found[("gateway_requests_total", key)] == 1
    assert found[("gateway_upstream_duration_seconds_count", (("backend", "bun-sqlite"),))] == 1
    assert found[("gateway_upstream_duration_seconds_sum", (("backend", "bun-sqlite"),))] == 0.012
    assert found[("gateway_duration_seconds_sum", (("backend", "bun-sqlite"),))] == 0.0005
    assert found[("gateway_in_flight_requests", ())] == 0


def test_unrouted_answers_never_label_a_client_chosen_backend():
    metrics = PrometheusMetrics()
    metrics.finished(
        line(status=400, outcome="error:unknown_backend", routed=False, backend="random-x1", upstream_ms=None)
    )
    found = samples(metrics)
    labels = {dict(k[1]).get("backend") for k in found}
    assert "random-x1" not in labels
    assert found[("gateway_requests_total", (("backend", "-"), ("location", "-"), ("status_class", "4xx")))] == 1


def test_upstream_failures_are_counted_by_kind():
    metrics = PrometheusMetrics()
    for outcome in ("error:backend_unavailable", "error:upstream_timeout", "error:bad_gateway", "error:bad_gateway"):
        metrics.finished(line(status=502, outcome=outcome))
    found = samples(metrics)
    kinds = {dict(k)["kind"]: v for (name, k), v in found.items() if name == "gateway_upstream_failures_total"}
    assert kinds == {"refused": 1, "timeout": 1, "protocol": 2}


def test_rate_limited_answers_are_counted():
    metrics = PrometheusMetrics()
    metrics.finished(line(status=429, outcome="error:rate_limited", routed=False, upstream_ms=None))
    assert samples(metrics)[("gateway_rate_limited_total", ())] == 1


def test_in_flight_counts_requests_started_and_not_finished():
    metrics = PrometheusMetrics()
    metrics.started()
    metrics.started()
    metrics.finished(line())
    assert samples(metrics)[("gateway_in_flight_requests", ())] == 1


def test_health_gauge_shows_each_checked_entry_and_only_current_ones():
    metrics = PrometheusMetrics()
    samples(metrics, [("bun-sqlite", "local", True), ("cf-d1", "cloud", False), ("new", "local", None)])
    found = samples(metrics, [("cf-d1", "cloud", False)])
    healthy = {k: v for (name, k), v in found.items() if name == "gateway_backend_healthy"}
    assert healthy == {(("backend", "cf-d1"), ("location", "cloud")): 0}
