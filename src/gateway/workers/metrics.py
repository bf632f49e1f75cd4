"""``runtime.Metrics`` over the optional ``GATEWAY_ANALYTICS`` (Workers Analytics Engine) dataset.

One data point per request, nothing at all without the binding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import js
from pyodide.ffi import JsException, to_js

from ..logs import RequestLog, log_event
from ..metrics import data_point
from .natives import log

__all__ = ["AnalyticsEngineMetrics"]


class AnalyticsEngineMetrics:
    """``runtime.Metrics`` over a Workers Analytics Engine dataset: one data point per answer.

    The point is ``gateway.metrics.data_point`` (fixed blob/double order, the
    backend id as index). ``writeDataPoint`` returns at once (the runtime sends
    points after the response), so nothing here waits. The series live in the
    dataset, queried with the SQL API, so ``/_gateway/metrics`` stays 404.
    """

    exposes = False

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    def started(self) -> None:
        """Nothing: a data point is written once, when the answer is known."""

    def finished(self, line: RequestLog) -> None:
        blobs, doubles, indexes = data_point(line)
        point = to_js({"blobs": blobs, "doubles": doubles, "indexes": indexes}, dict_converter=js.Object.fromEntries)
        try:
            self._binding.writeDataPoint(point)
        except JsException as exc:  # a lost data point must never cost the client its answer
            log_event(log, js.Date.now() / 1000, "analytics_write_failed", error=str(exc))

    def exposition(self, health: Iterable[tuple[str, str, bool | None]]) -> tuple[str, bytes]:
        raise NotImplementedError("Analytics Engine points are read with the SQL API (exposes is False)")
