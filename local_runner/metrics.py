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

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

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


class _Histogram:
    """One labelled histogram's state: a count per bucket (the last is +Inf), and the sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # le: a value on a bound counts in it
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        total, out = 0, list[tuple[str, float]]()
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            total += count
            out.append((bound, total))
        return out


class PrometheusMetrics:
    """``runtime.Metrics`` for the twin: plain counts per request, families built at exposition.

    prometheus-client's own metric objects take a lock and look up their
    labelled child on every increment; on the request path that cost more
    than the rest of the request log. Here a request adds to ints in dicts
    (the event loop is the only writer), and ``exposition`` turns them into
    metric families through prometheus-client's collector API and text format.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._requests: dict[tuple[str, str, str], int] = {}
        self._gateway: dict[str, _Histogram] = {}
        self._upstream: dict[str, _Histogram] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._rate_limited = 0
        self._begun = self._ended = 0
        self._health: list[tuple[str, str, bool]] = []
        self.registry.register(self)  # a collector: collect() is all it needs

    def started(self) -> None:
        self._begun += 1

    def finished(self, line: RequestLog) -> None:
        self._ended += 1
        routed = line.routed and line.backend is not None
        backend = line.backend if routed and line.backend is not None else NO_BACKEND
        location = line.location if routed and line.location is not None else NO_BACKEND
        key = (backend, location, STATUS_CLASSES[min(max(line.status // 100, 1), 5) - 1])
        self._requests[key] = self._requests.get(key, 0) + 1
        upstream_ms = line.upstream_ms
        gateway = self._gateway.get(backend)
        if gateway is None:
            gateway = self._gateway[backend] = _Histogram(GATEWAY_BUCKETS)
        gateway.observe(max(0.0, line.duration_ms - (upstream_ms or 0.0)) / 1000)
        if upstream_ms is not None:
            upstream = self._upstream.get(backend)
            if upstream is None:
                upstream = self._upstream[backend] = _Histogram(UPSTREAM_BUCKETS)
            upstream.observe(upstream_ms / 1000)
        kind = FAILURE_KINDS.get(line.outcome)
        if kind is not None:
            self._failures[(backend, kind)] = self._failures.get((backend, kind), 0) + 1
        elif line.outcome == "error:rate_limited":
            self._rate_limited += 1

    def exposition(self, health: Iterable[tuple[str, str, bool | None]]) -> tuple[str, bytes]:
        # Entries removed from the registry disappear; unchecked ones are absent.
        self._health = [
            (backend_id, location, healthy) for backend_id, location, healthy in health if healthy is not None
        ]
        # The 0.0.4 text format: every Prometheus and agent reads it (the names are plain ASCII).
        return CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """The collector protocol: every family, from the counts kept so far."""
        requests = CounterMetricFamily(
            "gateway_requests", "Answers by backend, location and status class",
            labels=["backend", "location", "status_class"],
        )  # fmt: skip
        for labels, count in self._requests.items():
            requests.add_metric(labels, count)
        yield requests
        for name, documentation, histograms in (
            ("gateway_duration_seconds", "The gateway's own time per request", self._gateway),
            ("gateway_upstream_duration_seconds", "Upstream time until its response headers", self._upstream),
        ):
            family = HistogramMetricFamily(name, documentation, labels=["backend"])
            for backend, histogram in histograms.items():
                family.add_metric([backend], histogram.buckets(), histogram.sum)
            yield family
        failures = CounterMetricFamily(
            "gateway_upstream_failures", "Failed upstream exchanges by kind", labels=["backend", "kind"]
        )
        for pair, count in self._failures.items():
            failures.add_metric(pair, count)
        yield failures
        yield CounterMetricFamily("gateway_rate_limited", "Requests answered 429", value=self._rate_limited)
        yield GaugeMetricFamily(
            "gateway_in_flight_requests", "Requests being answered now", value=self._begun - self._ended
        )
        healthy = GaugeMetricFamily(
            "gateway_backend_healthy", "Last health result per backend entry (1 healthy, 0 not)",
            labels=["backend", "location"],
        )  # fmt: skip
        for backend_id, location, ok in self._health:
            healthy.add_metric([backend_id, location], 1 if ok else 0)
        yield healthy
