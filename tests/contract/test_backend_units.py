"""The backends' own unit tests (bun test, minitest, pytest), run from the one test command."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.support.processes import ROOT


def bun_counts(summary: str) -> dict[str, int]:
    """``{"pass": N, "fail": M}`` from bun's summary lines (`` N pass`` / `` M fail``)."""
    counts = {}
    for word in ("pass", "fail"):
        found = re.findall(rf"^\s*(\d+) {word}$", summary, flags=re.MULTILINE)
        assert len(found) == 1, f"expected one '<n> {word}' summary line from bun test:\n{summary}"
        counts[word] = int(found[0])
    return counts


def test_shared_backend_code_passes_its_bun_unit_tests():
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bun", "test", "backends/shared"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # bun prints its summary ("N pass", "M fail") on stderr; make sure tests really ran, and none failed.
    counts = bun_counts(result.stderr)
    assert counts["fail"] == 0, result.stderr
    assert counts["pass"] > 0, result.stderr


def test_ruby_sqlite_passes_its_minitest_suite():
    result = subprocess.run(
        ["rake", "test"], cwd=ROOT / "backends" / "ruby-sqlite", capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # minitest's summary: "N runs, M assertions, F failures, E errors, S skips".
    summary = re.search(r"(\d+) runs, (\d+) assertions, (\d+) failures, (\d+) errors, (\d+) skips", output)
    assert summary, output
    runs, _assertions, failures, errors, skips = map(int, summary.groups())
    assert runs > 0 and failures == errors == skips == 0, output


def test_python_postgres_passes_its_pytest_suite():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT / "backends" / "python-postgres",
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = re.search(r"(\d+) passed", output)
    assert summary and int(summary[1]) > 0 and " failed" not in output and " skipped" not in output, output
