"""One JSON line per request, and the same shape for gateway events.

Only the fields listed in :class:`RequestLog` are written: no header, no
query string, no URL of a backend, so no secret can reach a log line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


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

    @classmethod
    def start(cls, wall: float, request_id: str, method: str, path: str) -> RequestLog:
        return cls(ts=_iso(wall), request_id=request_id, method=method, path=path)

    def line(self) -> str:
        # Built by hand: dataclasses.asdict deep-copies and costs ~25 µs a line.
        return json.dumps(
            {
                "ts": self.ts,
                "request_id": self.request_id,
                "method": self.method,
                "path": self.path,
                "backend": self.backend,
                "location": self.location,
                "status": self.status,
                "duration_ms": self.duration_ms,
                "upstream_ms": self.upstream_ms,
                "outcome": self.outcome,
            },
            separators=(",", ":"),
        )


def log_event(log: Callable[[str], None], wall: float, event: str, **fields: Any) -> None:
    """Write a non-request event (bad registry document, failed KV call, …)."""
    log(json.dumps({"ts": _iso(wall), "event": event, **fields}, separators=(",", ":"), default=str))
