"""The twin's request metrics in Prometheus's text format (``GET /_gateway/metrics``).

Series (every label comes from a registered backend entry or a fixed set,
never from client input, so a client cannot grow their number; no URL, key
or body is ever recorded):

    gateway_requests_total{backend, location, status_class}
    gateway_duration_seconds{backend}            the gateway's own time (until the response headers, minus the upstream's)
    gateway_upstream_duration_seconds{backend}   the upstream's time until its headers
    gateway_upstream_failures_total{backend, kind}   kind: refused | timeout | protocol
    gateway_rate_limited_total
    gateway_in_flight_requests
    gateway_backend_healthy{backend, location}   1, 0, or absent before the first check

``backend`` is ``-`` for answers no backend was chosen for (gateway
endpoints, preflights, errors before routing).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from gateway.logs import RequestLog

#: Seconds; a proxy's own time is sub-millisecond, an upstream's up to the timeout.
GATEWAY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
UPSTREAM_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Outcomes of a failed upstream exchange (gateway.proxy's map) → the failure kind.
FAILURE_KINDS = {
    "error:backend_unavailable": "refused",
    "error:upstream_timeout": "timeout",
    "error:bad_gateway": "protocol",
}
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
NO_BACKEND = "-"


class PrometheusMetrics:
    """``runtime.Metrics`` over prometheus-client, one registry per twin process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self._requests = Counter(
            "gateway_requests", "Answers by backend, location and status class",
            ["backend", "location", "status_class"], registry=registry,
        )  # fmt: skip
        self._gateway = Histogram(
            "gateway_duration_seconds", "The gateway's own time per request", ["backend"],
            buckets=GATEWAY_BUCKETS, registry=registry,
        )  # fmt: skip
        self._upstream = Histogram(
            "gateway_upstream_duration_seconds", "Upstream time until its response headers", ["backend"],
            buckets=UPSTREAM_BUCKETS, registry=registry,
        )  # fmt: skip
        self._failures = Counter(
            "gateway_upstream_failures", "Failed upstream exchanges by kind", ["backend", "kind"], registry=registry
        )
        self._rate_limited = Counter("gateway_rate_limited", "Requests answered 429", registry=registry)
        self._in_flight = Gauge("gateway_in_flight_requests", "Requests being answered now", registry=registry)
        # Plain counts, read at exposition: a Gauge's inc/dec take a lock each, on every request.
        self._begun = self._ended = 0
        self._in_flight.set_function(lambda: self._begun - self._ended)
        # The labelled children of one answer kind, looked up once: labels() costs
        # more than the increments it leads to. Bounded like the series themselves.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._upstream_children: dict[str, Any] = {}
        self._healthy = Gauge(
            "gateway_backend_healthy", "Last health result per backend entry (1 healthy, 0 not)",
            ["backend", "location"], registry=registry,
        )  # fmt: skip

    def started(self) -> None:
        self._begun += 1

    def finished(self, line: RequestLog) -> None:
        self._ended += 1
        routed = line.routed and line.backend is not None
        backend = line.backend if routed and line.backend is not None else NO_BACKEND
        location = line.location if routed and line.location is not None else NO_BACKEND
        status_class = STATUS_CLASSES[min(max(line.status // 100, 1), 5) - 1]
        key = (backend, location, status_class)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self._requests.labels(backend, location, status_class),
                self._gateway.labels(backend),
            )
        requests, gateway = children
        requests.inc()
        upstream_ms = line.upstream_ms or 0.0
        gateway.observe(max(0.0, line.duration_ms - upstream_ms) / 1000)
        if line.upstream_ms is not None:
            upstream = self._upstream_children.get(backend)
            if upstream is None:  # created only once observed: no empty series for backend "-"
                upstream = self._upstream_children[backend] = self._upstream.labels(backend)
            upstream.observe(line.upstream_ms / 1000)
        kind = FAILURE_KINDS.get(line.outcome)
        if kind is not None:
            self._failures.labels(backend, kind).inc()
        elif line.outcome == "error:rate_limited":
            self._rate_limited.inc()

    def exposition(self, health: Iterable[tuple[str, str, bool | None]]) -> tuple[str, bytes]:
        self._healthy.clear()  # entries removed from the registry disappear
        for backend_id, location, healthy in health:
            if healthy is not None:
                self._healthy.labels(backend_id, location).set(1 if healthy else 0)
        # The 0.0.4 text format: every Prometheus and agent reads it (the names are plain ASCII).
        return CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self.registry)
