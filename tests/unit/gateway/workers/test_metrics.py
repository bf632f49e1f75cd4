"""gateway.workers.metrics: one Analytics Engine data point per answer, never a lost answer."""

import json

from gateway.logs import RequestLog
from gateway.metrics import data_point
from gateway.workers.metrics import AnalyticsEngineMetrics

from .conftest import LOGGED, JsException


def finished_line() -> RequestLog:
    line = RequestLog.start(1_700_000_000.0, "rid", "GET", "/tasks")
    line.backend, line.location, line.status, line.routed = "bun-sqlite", "local", 200, True
    return line


class Dataset:
    def __init__(self, fails: bool = False) -> None:
        self.points: list[dict] = []
        self.fails = fails

    def writeDataPoint(self, point):
        if self.fails:
            raise JsException("dataset gone")
        self.points.append(point)


def test_finished_writes_the_lines_data_point():
    dataset = Dataset()
    line = finished_line()
    AnalyticsEngineMetrics(dataset).finished(line)
    blobs, doubles, indexes = data_point(line)
    assert dataset.points == [{"blobs": blobs, "doubles": doubles, "indexes": indexes}]


def test_a_failed_write_is_logged_and_not_raised():
    AnalyticsEngineMetrics(Dataset(fails=True)).finished(finished_line())
    assert [json.loads(line)["event"] for line in LOGGED] == ["analytics_write_failed"]


def test_the_metrics_endpoint_is_not_exposed():
    assert AnalyticsEngineMetrics(Dataset()).exposes is False
