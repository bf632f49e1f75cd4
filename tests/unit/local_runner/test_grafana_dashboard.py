"""docs/grafana/gateway-dashboard.json asks only for series and labels the twin exposes.

A dashboard that names a series the twin does not export shows "No data"
with no error; these tests fail instead, whenever a metric or label is
renamed on one side only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gateway.logs import RequestLog
from local_runner.metrics import PrometheusMetrics

DASHBOARD = Path(__file__).parents[3] / "docs" / "grafana" / "gateway-dashboard.json"
SERIES = re.compile(r"\b(gateway_[a-z_]+)\b")
GROUPING = re.compile(r"\bby \(([^)]*)\)")
MATCHERS = re.compile(r"\{([^}]*)\}")
LABEL_NAME = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
VARIABLE_QUERY = re.compile(r"label_values\((\w+),\s*(\w+)\)")


def exposed() -> dict[str, set[str]]:
    """Series name → label names, from a twin registry that has seen every kind of answer."""
    metrics = PrometheusMetrics()
    for status, outcome, upstream_ms in (
        (200, "proxied", 4.0),
        (502, "error:bad_gateway", None),
        (503, "error:backend_unavailable", None),
        (504, "error:upstream_timeout", None),
        (429, "error:rate_limited", None),
    ):
        metrics.started()
        log = RequestLog.start(0.0, "rid", "GET", "/tasks")
        log.status, log.outcome, log.routed = status, outcome, True
        log.backend, log.location, log.upstream_ms, log.duration_ms = "app", "local", upstream_ms, 5.0
        metrics.finished(log)
    _, body = metrics.exposition([("app", "local", True)])
    series: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            series.setdefault(sample.name, set()).update(sample.labels)
    return series


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    found += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return found


def test_the_dashboard_has_a_query_per_panel():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["panels"]
    assert all(panel["targets"] and all(t["expr"].strip() for t in panel["targets"]) for panel in dashboard["panels"])


def test_every_series_the_dashboard_queries_is_exposed_by_the_twin():
    series = exposed()
    wanted = {name for expr in expressions() for name in SERIES.findall(expr)}
    assert wanted, "no gateway_* series found in the dashboard"
    assert wanted <= series.keys(), f"not exposed: {sorted(wanted - series.keys())}"


def test_every_label_the_dashboard_groups_or_filters_by_is_on_its_series():
    series = exposed()
    for expr in expressions():
        names = SERIES.findall(expr)
        labels = {label.strip() for group in GROUPING.findall(expr) for label in group.split(",")} - {"le", ""}
        labels |= {label for matcher in MATCHERS.findall(expr) for label in LABEL_NAME.findall(matcher)}
        labels |= {label for _, label in VARIABLE_QUERY.findall(expr)}
        for name in names:
            assert labels <= series[name], f"{expr}: {sorted(labels - series[name])} not labels of {name}"
