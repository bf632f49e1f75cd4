"""A person's whole system: 10,000 tasks imported into every backend, then the app's requests timed.

One document (``gtd_data.sample.document()``: 100 projects, 10,000 tasks with the statuses,
contexts, notes, tickler dates, repeat rules and dependencies of a list kept
for years) is sent with ``POST /import`` through the gateway to each backend.
Then, one client at a time (c1: latency, not throughput), in rounds that
rotate the backend order and swap direct/gateway, each backend answers:

    page     GET /counts + GET /tasks?status=inbox&deferred=false&limit=50   (the inbox page's data)
    search   GET /tasks?q=<word>&limit=50
    capture  POST /tasks
    export   GET /export                (the whole set)
    reimport POST /import of the same document (every item unchanged)

p50/p99 per cell in ms; the first import's time in s. Targets (docs/benchmarks.md,
issue #24): page and capture ≤ 100 ms p50 through the gateway on every backend
but cf-d1 under ``wrangler dev``, which should stay within 10 ms of its own
direct latency.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from gtd_data.sample import OBJECTS, document

TODAY = "2027-03-01"
OPERATIONS = ("page", "search", "capture", "export", "reimport")


@dataclass
class Samples:
    """Milliseconds per (backend, via, operation), and each backend's first import in seconds."""

    ms: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    import_s: dict[str, float] = field(default_factory=dict)

    def add(self, backend: str, via: str, operation: str, value_ms: float) -> None:
        self.ms.setdefault((backend, via, operation), []).append(value_ms)


class BenchError(RuntimeError):
    pass


def _ok(response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code >= 400:
        raise BenchError(f"{what}: {response.status_code} {response.text[:300]}")
    return response


class Cell:
    """One backend, direct or through the gateway: each operation's wall time in ms."""

    def __init__(self, client: httpx.Client, base: str, backend: str, via: str) -> None:
        self.client = client
        self.base = base
        self.what = f"{backend} {via}"
        self.headers = {} if via == "direct" else {"x-backend": backend}

    def _send(self, method: str, path: str, **kw: Any) -> None:
        headers = {**self.headers, **kw.pop("headers", {})}
        response = self.client.request(method, self.base + path, headers=headers, **kw)
        _ok(response, f"{self.what} {method} {path}")

    def _timed(self, *requests: tuple[str, str, dict[str, Any]]) -> float:
        started = time.perf_counter()
        for method, path, kw in requests:
            self._send(method, path, **kw)
        return (time.perf_counter() - started) * 1000

    def page(self) -> float:
        return self._timed(
            ("GET", f"/counts?today={TODAY}", {}),
            ("GET", f"/tasks?status=inbox&deferred=false&limit=50&today={TODAY}", {}),
        )

    def search(self, word: str) -> float:
        return self._timed(("GET", f"/tasks?q={word}&limit=50", {}))

    def capture(self, title: str) -> float:
        return self._timed(("POST", "/tasks", {"json": {"title": title}}))

    def export(self) -> float:
        return self._timed(("GET", "/export", {}))

    def reimport(self, body: bytes) -> float:
        return self._timed(
            ("POST", "/import", {"content": body, "headers": {**self.headers, "content-type": "application/json"}})
        )


def run(
    urls: dict[str, str], gateway: str, *, tasks: int, rounds: int, samples: int, heavy_samples: int, log: Any
) -> dict[str, Any]:
    """Import the document into each backend through the gateway, then time every operation; a JSON-able result."""
    body = json.dumps(document(tasks)).encode()
    log(f"large dataset: {tasks} tasks, {len(body) / 1e6:.1f} MB document")
    result = Samples()
    with httpx.Client(timeout=600) as client:
        for backend in urls:
            headers = {"x-backend": backend, "content-type": "application/json"}
            started = time.perf_counter()
            answer = _ok(client.post(gateway + "/import", content=body, headers=headers), f"{backend} import").json()
            result.import_s[backend] = round(time.perf_counter() - started, 2)
            log(f"imported into {backend} in {result.import_s[backend]} s: {answer}")
        rng = random.Random(1)
        order = list(urls)
        for round_index in range(rounds):
            rotation = order[round_index % len(order) :] + order[: round_index % len(order)]
            vias = ("direct", "gateway") if round_index % 2 == 0 else ("gateway", "direct")
            for backend in rotation:
                for via in vias:
                    cell = Cell(client, urls[backend] if via == "direct" else gateway, backend, via)
                    for _ in range(samples):
                        result.add(backend, via, "page", cell.page())
                        result.add(backend, via, "search", cell.search(rng.choice(OBJECTS).split()[0]))
                        result.add(backend, via, "capture", cell.capture(f"bench capture {rng.random()}"))
                    for _ in range(heavy_samples):
                        result.add(backend, via, "export", cell.export())
                        result.add(backend, via, "reimport", cell.reimport(body))
    return summarise(result, tasks)


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def summarise(samples: Samples, tasks: int) -> dict[str, Any]:
    rows = []
    for (backend, via, operation), values in sorted(samples.ms.items()):
        rows.append(
            {
                "backend": backend,
                "via": via,
                "operation": operation,
                "n": len(values),
                "p50_ms": round(_pct(values, 50), 2),
                "p99_ms": round(_pct(values, 99), 2),
            }
        )
    return {"tasks": tasks, "import_s": samples.import_s, "rows": rows}


def markdown(large: dict[str, Any]) -> str:
    """The table for docs/benchmarks.md: p50 / p99 ms per backend and operation, direct and through the gateway."""
    cells = {(r["backend"], r["via"], r["operation"]): r for r in large["rows"]}
    backends = list(large["import_s"])
    lines = [
        f"### {large['tasks']:,} tasks per backend (c1, p50 / p99 ms)",
        "",
        "| backend | via | " + " | ".join(OPERATIONS) + " | first import (s) |",
        "|---|---|" + "---:|" * (len(OPERATIONS) + 1),
    ]
    for backend in backends:
        for via in ("direct", "gateway"):
            figures = []
            for operation in OPERATIONS:
                row = cells.get((backend, via, operation))
                figures.append(f"{row['p50_ms']:.1f} / {row['p99_ms']:.1f}" if row else "–")
            first = f"{large['import_s'][backend]:.1f}" if via == "gateway" else ""
            lines.append(f"| {backend} | {via} | " + " | ".join(figures) + f" | {first} |")
    return "\n".join(lines) + "\n"
