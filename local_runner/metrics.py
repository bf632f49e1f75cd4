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

With ``--workers N`` (N > 1) the supervisor gives every worker one
``PROMETHEUS_MULTIPROC_DIR``: prometheus-client then keeps each value in a
memory-mapped file per process, and whichever worker answers the scrape sums
them all (``MultiProcessCollector``; the supervisor calls
``mark_process_dead`` for a worker that exits, so live gauges drop its
share). Only then is one more series kept:

    gateway_worker_requests{pid}                 answers per live worker process
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.logs import RequestLog
from gateway.metrics import dimensions

#: Seconds; a proxy's own time is sub-millisecond, an upstream's up to the timeout.
GATEWAY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
UPSTREAM_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HealthCollector:
    """``gateway_backend_healthy``, built from the answering worker's view at each scrape.

    Not a stored gauge: health is read from the gateway at exposition time
    (shared through KV between workers), so there is nothing to sum across
    processes, and entries removed from the registry simply stop appearing.
    """

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, bool | None]] = []

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "gateway_backend_healthy",
            "Last health result per backend entry (1 healthy, 0 not)",
            labels=["backend", "location"],
        )
        for backend_id, location, healthy in self.entries:
            if healthy is not None:
                family.add_metric([backend_id, location], 1 if healthy else 0)
        yield family


class PrometheusMetrics:
    """``runtime.Metrics`` over prometheus-client: one registry per process, summed over workers.

    Multiprocess mode follows prometheus-client's own switch: it is on when
    ``PROMETHEUS_MULTIPROC_DIR`` is set (the supervisor sets it for its
    workers before they import prometheus-client, which picks its value
    class at import).
    """

    exposes = True

    def __init__(self) -> None:
        multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.multiprocess = multiprocess_dir is not None
        self._health = HealthCollector()
        # The series live in this process's registry (or its mmap files);
        # the scrape reads ``_exposed``: the same registry, or every worker's files.
        self.registry = CollectorRegistry(auto_describe=False)
        if multiprocess_dir is not None:
            self._exposed = CollectorRegistry(auto_describe=False)
            MultiProcessCollector(self._exposed, multiprocess_dir)  # type: ignore[no-untyped-call]
        else:
            self._exposed = self.registry
        self._exposed.register(self._health)
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
        self._in_flight = Gauge(
            "gateway_in_flight_requests", "Requests being answered now", registry=registry,
            multiprocess_mode="livesum",
        )  # fmt: skip
        # Which worker answered (label pid, added by the multiprocess collector); N=1 pays nothing.
        self._worker = None
        if self.multiprocess:
            self._worker = Gauge(
                "gateway_worker_requests", "Answers per live worker process since it started",
                registry=registry, multiprocess_mode="liveall",
            )  # fmt: skip

    def started(self) -> None:
        self._in_flight.inc()

    def finished(self, line: RequestLog) -> None:
        self._in_flight.dec()
        if self._worker is not None:
            self._worker.inc()
        found = dimensions(line)  # the mapping the Worker's Analytics Engine points use too
        backend = found.backend
        self._requests.labels(backend, found.location, found.status_class).inc()
        self._gateway.labels(backend).observe(found.gateway_ms / 1000)
        if found.upstream_ms is not None:
            self._upstream.labels(backend).observe(found.upstream_ms / 1000)
        if found.failure_kind is not None:
            self._failures.labels(backend, found.failure_kind).inc()
        elif found.rate_limited:
            self._rate_limited.inc()

    def exposition(self, health: Iterable[tuple[str, str, bool | None]]) -> tuple[str, bytes]:
        self._health.entries = list(health)
        # The 0.0.4 text format: every Prometheus and agent reads it (the names are plain ASCII).
        return CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self._exposed)
