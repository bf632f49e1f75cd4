"""The backends' own unit tests (``bun test``), run from the one test command."""

from __future__ import annotations

import os
import subprocess

from tests.support.processes import ROOT


def test_shared_backend_code_passes_its_bun_unit_tests():
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bun", "test", "backends/shared"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # bun prints "N pass" / "0 fail" on stderr; make sure tests really ran.
    assert " 0 fail" in result.stderr and " pass" in result.stderr, result.stderr
