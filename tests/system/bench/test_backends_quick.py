"""`make bench-backends` in its --quick form: it runs end to end, every request succeeds, and its outputs parse.

No timing is asserted: this machine is shared, and the figures are the
benchmark's business, not the test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
BACKENDS = {"bun-sqlite", "cf-d1", "ruby-sqlite", "python-postgres", "elixir-sqlite"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `python -m bench.backends --quick` run (minutes); its results folder."""
    out = tmp_path_factory.mktemp("bench-backends")
    result = subprocess.run(
        [sys.executable, "-m", "bench.backends", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def _document(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "backends.json").read_text())
    return doc


@pytest.mark.slow
def test_quick_run_writes_json_markdown_and_charts(quick_run: Path) -> None:
    doc = _document(quick_run)
    assert doc["mode"] == "quick"
    assert {"cpu_model", "cpus", "platform", "python"} <= set(doc["machine"])
    cells = doc["cells"]
    assert {c["backend"] for c in cells} == BACKENDS
    assert {c["via"] for c in cells} == {"direct", "gateway"}
    assert {c["concurrency"] for c in cells} == {1, 8, 32}
    assert {c["profile"] for c in cells} == {"read-heavy", "write-heavy"}
    assert len(cells) == len(BACKENDS) * 2 * 3 * 2
    for cell in cells:
        assert {"req_s", "p50_ms", "p99_ms", "errors", "client_cpu_pct"} <= set(cell)
    operations = {o["operation"] for o in doc["operations"]}
    assert {"capture", "list_status", "list_filtered", "get", "update", "move", "complete", "delete"} <= operations
    assert {(a["backend"], a["concurrency"]) for a in doc["gateway_added"]} >= {(b, 1) for b in BACKENDS}

    markdown = (quick_run / "backends.md").read_text()
    assert "| profile | backend | via | c | req/s | p50 ms | p99 ms | errors | client CPU |" in markdown
    for chart in ("backends-throughput", "backends-latency"):
        assert (quick_run / f"{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ET.parse(quick_run / f"{chart}.svg").getroot().tag.endswith("svg")


@pytest.mark.slow
def test_quick_run_every_cell_made_requests_without_errors(quick_run: Path) -> None:
    # `completed` counts every request of a cell (warm-up and tail too), `errors` every failed one:
    # on a loaded machine a c32 cell's writes can all outlast the quick run's 0.8 s window.
    cells = _document(quick_run)["cells"]
    key = ("profile", "backend", "via", "concurrency")
    failed = [({k: c[k] for k in key}, c["completed"], c["errors"]) for c in cells if c["errors"] or not c["completed"]]
    assert cells
    assert failed == []
