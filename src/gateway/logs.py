"""One JSON line per request, and the same shape for gateway events.

Only the fields listed in :class:`RequestLog` are written: no header, no
query string, no URL of a backend, so no secret can reach a log line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _str
from typing import Any

_second: tuple[int, str] = (-1, "")


def _iso(ts: float) -> str:
    """RFC 3339 UTC with milliseconds; the date-time part is formatted once a second."""
    global _second
    whole = int(ts)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((ts - whole) * 1000):03d}Z"


def _opt(value: str | None) -> str:
    return "null" if value is None else _str(value)


@dataclass(slots=True)
class RequestLog:
    """The request line: filled in as the pipeline learns each field."""

    ts: str
    request_id: str
    method: str
    path: str
    backend: str | None = None
    location: str | None = None
    status: int = 0
    duration_ms: float = 0.0
    upstream_ms: float | None = None
    outcome: str = "proxied"
    #: True once ``backend``/``location`` name a registered entry (not written to the line).
    routed: bool = False

    @classmethod
    def start(cls, wall: float, request_id: str, method: str, path: str) -> RequestLog:
        return cls(ts=_iso(wall), request_id=request_id, method=method, path=path)

    def line(self) -> str:
        # Formatted by hand, every string through the JSON encoder's own
        # escaping: a third of json.dumps's cost, on every request.
        return (
            f'{{"ts":"{self.ts}","request_id":{_str(self.request_id)},"method":{_str(self.method)},'
            f'"path":{_str(self.path)},"backend":{_opt(self.backend)},"location":{_opt(self.location)},'
            f'"status":{int(self.status)},"duration_ms":{float(self.duration_ms)!r},'
            f'"upstream_ms":{"null" if self.upstream_ms is None else repr(float(self.upstream_ms))},'
            f'"outcome":{_str(self.outcome)}}}'
        )


def log_event(log: Callable[[str], None], wall: float, event: str, **fields: Any) -> None:
    """Write a non-request event (bad registry document, failed KV call, …)."""
    log(json.dumps({"ts": _iso(wall), "event": event, **fields}, separators=(",", ":"), default=str))
