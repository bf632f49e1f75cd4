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


def exunit_counts(output: str) -> dict[str, int]:
    """Counts from ExUnit's summary line, e.g. ``104 tests, 0 failures, 1 skipped (2 excluded)``."""
    found = re.findall(r"^(\d+) tests?, (\d+) failures?((?:, \d+ \w+)*)(?: \((\d+) excluded\))?$", output, re.MULTILINE)
    assert len(found) == 1, f"expected one ExUnit summary line:\n{output}"
    tests, failures, extra, excluded = found[0]
    counts = {"tests": int(tests), "failures": int(failures), "excluded": int(excluded or 0)}
    for number, word in re.findall(r", (\d+) (\w+)", extra):
        counts[word] = int(number)  # "skipped", "invalid"
    return counts


def test_exunit_counts_read_skips_and_exclusions():
    assert exunit_counts("104 tests, 0 failures\n") == {"tests": 104, "failures": 0, "excluded": 0}
    assert exunit_counts("3 tests, 1 failure, 1 skipped, 1 invalid (2 excluded)") == {
        "tests": 3,
        "failures": 1,
        "excluded": 2,
        "skipped": 1,
        "invalid": 1,
    }


def test_elixir_sqlite_passes_its_exunit_suite():
    # MIX_ENV=test builds into _build/test: no clash with a prod node `mix run` is compiling meanwhile.
    result = _mix("test")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    counts = exunit_counts(result.stdout)
    # A skipped, excluded or invalid case fails the run, as a failed one does.
    assert counts["tests"] > 0, output
    assert {name: n for name, n in counts.items() if name != "tests" and n} == {}, output


def _mix(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["mix", *args],
        cwd=ROOT / "backends" / "elixir-sqlite",
        env={**os.environ, "MIX_ENV": "test"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_elixir_sqlite_is_formatted():
    result = _mix("format", "--check-formatted")
    assert result.returncode == 0, result.stdout + result.stderr


def test_elixir_sqlite_compiles_without_warnings():
    result = _mix("compile", "--force", "--warnings-as-errors")
    assert result.returncode == 0, result.stdout + result.stderr
