"""`make bench-backends` in its --quick form: it runs end to end and writes outputs that parse.

No timing is asserted: this machine is shared, and the figures are the
benchmark's business, not the test's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = {"bun-sqlite", "cf-d1", "ruby-sqlite", "python-postgres", "elixir-sqlite"}


@pytest.mark.slow
def test_quick_run_writes_json_markdown_and_charts(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "backends" / "run.py"), "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    doc = json.loads((tmp_path / "backends.json").read_text())
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

    markdown = (tmp_path / "backends.md").read_text()
    assert "| profile | backend | via | c | req/s | p50 ms | p99 ms | errors | client CPU |" in markdown
    for chart in ("backends-throughput", "backends-latency"):
        assert (tmp_path / f"{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ET.parse(tmp_path / f"{chart}.svg").getroot().tag.endswith("svg")
