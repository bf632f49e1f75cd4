"""What one answered request measures, the same on every runtime.

Both recorders of ``runtime.Metrics`` cut a finished :class:`~gateway.logs.RequestLog`
into the same dimensions here, so the twin's Prometheus series and the Worker's
Analytics Engine data points cannot drift apart:

* the twin (``local_runner.metrics``) turns :func:`dimensions` into labels and observations;
* the Worker (``gateway.workers.metrics``) writes :func:`data_point` to the
  ``GATEWAY_ANALYTICS`` dataset, one point per request.

Every value comes from a registered backend entry, a fixed set or a number the
gateway measured; never from client input, and never a URL, key or body.
``backend``/``location`` are ``-`` for answers no backend was chosen for
(gateway endpoints, preflights, errors before routing).
"""

from __future__ import annotations

from typing import NamedTuple

from .logs import RequestLog

NO_BACKEND = "-"
#: Outcomes of a failed upstream exchange (``gateway.proxy``'s map) → the failure kind.
FAILURE_KINDS = {
    "error:backend_unavailable": "refused",
    "error:upstream_timeout": "timeout",
    "error:bad_gateway": "protocol",
}
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
RATE_LIMITED = "error:rate_limited"

#: The data point's columns, in the order written (``blob1``…, ``double1``…; docs/workerd.md
#: "Analytics Engine" has the query). The one index is the backend id (or ``-``).
BLOBS = ("backend", "location", "status_class", "failure_kind")
DOUBLES = ("status", "gateway_ms", "upstream_ms", "upstream_exchanges", "rate_limited")


class Dimensions(NamedTuple):
    """One answer's measurements (a NamedTuple: built on every request, it must be cheap)."""

    backend: str
    location: str
    status_class: str
    #: The gateway's own time: until the response headers, minus the upstream's.
    gateway_ms: float
    #: The upstream's time until its headers (or until it failed); None when none was called.
    upstream_ms: float | None
    #: ``refused`` | ``timeout`` | ``protocol``, or None when no upstream exchange failed.
    failure_kind: str | None
    rate_limited: bool


def dimensions(line: RequestLog) -> Dimensions:
    """The measurements of a finished request line."""
    routed = line.routed and line.backend is not None
    upstream_ms = line.upstream_ms
    return Dimensions(
        backend=line.backend if routed and line.backend is not None else NO_BACKEND,
        location=line.location if routed and line.location is not None else NO_BACKEND,
        status_class=STATUS_CLASSES[min(max(line.status // 100, 1), 5) - 1],
        gateway_ms=max(0.0, line.duration_ms - (upstream_ms or 0.0)),
        upstream_ms=upstream_ms,
        failure_kind=FAILURE_KINDS.get(line.outcome),
        rate_limited=line.outcome == RATE_LIMITED,
    )


def data_point(line: RequestLog) -> tuple[list[str], list[float], list[str]]:
    """(blobs, doubles, indexes) of one Analytics Engine data point, in :data:`BLOBS`/:data:`DOUBLES` order.

    A missing value is ``-`` in a blob and ``0`` in a double; ``upstream_exchanges``
    (1 or 0) says whether ``upstream_ms`` was measured, so an average is
    ``SUM(double3 * _sample_interval) / SUM(double4 * _sample_interval)``.

    >>> from gateway.logs import RequestLog
    >>> line = RequestLog.start(0.0, "rid", "GET", "/tasks")
    >>> line.status, line.backend, line.location, line.routed = 200, "app", "local", True
    >>> line.duration_ms, line.upstream_ms = 12.5, 12.0
    >>> data_point(line)
    (['app', 'local', '2xx', '-'], [200.0, 0.5, 12.0, 1.0, 0.0], ['app'])
    """
    found = dimensions(line)
    blobs = [found.backend, found.location, found.status_class, found.failure_kind or NO_BACKEND]
    upstream = found.upstream_ms
    doubles = [
        float(line.status),
        found.gateway_ms,
        0.0 if upstream is None else upstream,
        0.0 if upstream is None else 1.0,
        1.0 if found.rate_limited else 0.0,
    ]
    return blobs, doubles, [found.backend]
