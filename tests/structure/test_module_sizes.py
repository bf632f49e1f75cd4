"""No module of the gateway or the twin grows past 450 lines (issue #23).

A module that long holds more than one concern: split it by concern, as
``gateway/workers/`` and the twin's server and client modules are.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 450
MODULES = sorted(
    path
    for folder in (ROOT / "src", ROOT / "local_runner")
    for path in folder.rglob("*.py")
    if "__pycache__" not in path.parts
)


def test_the_modules_are_found():
    names = {path.relative_to(ROOT).as_posix() for path in MODULES}
    assert {"src/gateway/app.py", "local_runner/http_server.py", "src/gateway/workers/fetch.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_module_is_at_most_450_lines(path: Path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{lines} lines: split it by concern"
