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
endpoints, preflights, errors before routing). Answers are cut into these
dimensions by ``gateway.metrics`` (shared with the Worker's Analytics Engine points).

Two recorders, picked by :func:`new_metrics`:

* one process (the default): :class:`PrometheusMetrics` keeps plain counts
  and builds the families when scraped: prometheus-client's own metric
  objects take a lock and look up a labelled child on every increment,
  which cost more than the rest of the request log (docs/benchmarks.md);
* ``--workers N`` (N > 1): the supervisor gives every worker one
  ``PROMETHEUS_MULTIPROC_DIR`` and :class:`MultiprocessMetrics` uses
  prometheus-client's multiprocess mode: each value lives in a memory-mapped
  file per process, and whichever worker answers the scrape sums them all
  (``MultiProcessCollector``; the supervisor calls ``mark_process_dead`` for
  a worker that exits, so live gauges drop its share). It costs ~15 µs more
  per request than one process (``bench/hotpath.py``). Only then is one more
  series kept:

    gateway_worker_requests{pid}                 answers per live worker process
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.logs import RequestLog
from gateway.metrics import dimensions
from gateway.runtime import Metrics

#: Seconds; a proxy's own time is sub-millisecond, an upstream's up to the timeout.
GATEWAY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
UPSTREAM_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

_REQUESTS = ("gateway_requests", "Answers by backend, location and status class")
_GATEWAY = ("gateway_duration_seconds", "The gateway's own time per request")
_UPSTREAM = ("gateway_upstream_duration_seconds", "Upstream time until its response headers")
_FAILURES = ("gateway_upstream_failures", "Failed upstream exchanges by kind")
_RATE_LIMITED = ("gateway_rate_limited", "Requests answered 429")
_IN_FLIGHT = ("gateway_in_flight_requests", "Requests being answered now")


def new_metrics() -> Metrics:
    """The recorder for this process: multiprocess when the supervisor set ``PROMETHEUS_MULTIPROC_DIR``."""
    multiprocess_dir = os.environ.get(MULTIPROCESS_DIR)
    return PrometheusMetrics() if multiprocess_dir is None else MultiprocessMetrics(multiprocess_dir)


class HealthCollector:
    """``gateway_backend_healthy``, built from the answering process's view at each scrape.

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
    """``runtime.Metrics`` for one twin process: plain counts per request, families built at exposition.

    A request adds to ints in dicts (the event loop is the only writer), and
    ``exposition`` turns them into metric families through prometheus-client's
    collector API and text format.
    """

    exposes = True

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._requests: dict[tuple[str, str, str], int] = {}
        self._gateway: dict[str, _Histogram] = {}
        self._upstream: dict[str, _Histogram] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._rate_limited = 0
        self._begun = self._ended = 0
        self._health = HealthCollector()
        self.registry.register(self)  # a collector: collect() is all it needs
        self.registry.register(self._health)

    def started(self) -> None:
        self._begun += 1

    def finished(self, line: RequestLog) -> None:
        self._ended += 1
        found = dimensions(line)  # the mapping the Worker's Analytics Engine points use too
        backend = found.backend
        key = (backend, found.location, found.status_class)
        self._requests[key] = self._requests.get(key, 0) + 1
        gateway = self._gateway.get(backend)
        if gateway is None:
            gateway = self._gateway[backend] = _Histogram(GATEWAY_BUCKETS)
        gateway.observe(found.gateway_ms / 1000)
        if found.upstream_ms is not None:
            upstream = self._upstream.get(backend)
            if upstream is None:
                upstream = self._upstream[backend] = _Histogram(UPSTREAM_BUCKETS)
            upstream.observe(found.upstream_ms / 1000)
        if found.failure_kind is not None:
            pair = (backend, found.failure_kind)
            self._failures[pair] = self._failures.get(pair, 0) + 1
        elif found.rate_limited:
            self._rate_limited += 1

    def exposition(self, health: Iterable[tuple[str, str, bool | None]]) -> tuple[str, bytes]:
        self._health.entries = list(health)
        # The 0.0.4 text format: every Prometheus and agent reads it (the names are plain ASCII).
        return CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        """The collector protocol: every family, from the counts kept so far."""
        requests = CounterMetricFamily(*_REQUESTS, labels=["backend", "location", "status_class"])
        for labels, count in self._requests.items():
            requests.add_metric(labels, count)
        yield requests
        for (name, documentation), histograms in ((_GATEWAY, self._gateway), (_UPSTREAM, self._upstream)):
            family = HistogramMetricFamily(name, documentation, labels=["backend"])
            for backend, histogram in histograms.items():
                family.add_metric([backend], histogram.buckets(), histogram.sum)
            yield family
        failures = CounterMetricFamily(*_FAILURES, labels=["backend", "kind"])
        for pair, count in self._failures.items():
            failures.add_metric(pair, count)
        yield failures
        yield CounterMetricFamily(*_RATE_LIMITED, value=self._rate_limited)
        yield GaugeMetricFamily(*_IN_FLIGHT, value=self._begun - self._ended)


class MultiprocessMetrics:
    """``runtime.Metrics`` for a worker of ``--workers N``: prometheus-client's multiprocess mode.

    The supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` for its workers before
    they import prometheus-client, which picks its (memory-mapped) value
    class at import; the scrape sums every worker's files.
    """

    exposes = True

    def __init__(self, multiprocess_dir: str) -> None:
        self._health = HealthCollector()
        # The series live in this process's mmap files; the scrape reads every worker's.
        registry = CollectorRegistry(auto_describe=False)
        self._exposed = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(self._exposed, multiprocess_dir)  # type: ignore[no-untyped-call]
        self._exposed.register(self._health)
        self._requests = Counter(*_REQUESTS, ["backend", "location", "status_class"], registry=registry)
        self._gateway = Histogram(*_GATEWAY, ["backend"], buckets=GATEWAY_BUCKETS, registry=registry)
        self._upstream = Histogram(*_UPSTREAM, ["backend"], buckets=UPSTREAM_BUCKETS, registry=registry)
        self._failures = Counter(*_FAILURES, ["backend", "kind"], registry=registry)
        self._rate_limited = Counter(*_RATE_LIMITED, registry=registry)
        self._in_flight = Gauge(*_IN_FLIGHT, registry=registry, multiprocess_mode="livesum")
        # Which worker answered (label pid, added by the multiprocess collector).
        self._worker = Gauge(
            "gateway_worker_requests", "Answers per live worker process since it started",
            registry=registry, multiprocess_mode="liveall",
        )  # fmt: skip

    def started(self) -> None:
        self._in_flight.inc()

    def finished(self, line: RequestLog) -> None:
        self._in_flight.dec()
        self._worker.inc()
        found = dimensions(line)
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
        return CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self._exposed)
