"""Every module imports on its own, in a fresh interpreter: no import cycles, no hidden order.

A cycle often hides when modules are imported in the usual order (the
package's ``__init__`` first) and shows only when one is imported alone,
the way a user's script or a test does. Each module here is imported by
itself in its own interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: (package directory, its import name) as pyproject.toml maps them.
PACKAGES = (
    (ROOT / "src" / "gateway", "gateway"),
    (ROOT / "local_runner", "local_runner"),
    (ROOT / "tools" / "gateway_registry", "gateway_registry"),
    (ROOT / "tools" / "devstack", "devstack"),
    (ROOT / "harness", "harness"),
)
#: The package that needs another runtime to import at all (the Worker adapter: js/pyodide,
#: run by the behaviour tests on workerd and the Node harness).
RUNTIME_ONLY_PACKAGE = "gateway.workers"


def _runtime_only(module: str) -> bool:
    return module == RUNTIME_ONLY_PACKAGE or module.startswith(RUNTIME_ONLY_PACKAGE + ".")


def _modules() -> list[str]:
    names = []
    for directory, package in PACKAGES:
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(directory).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join((package, *parts)))
    return names


MODULES = [m for m in _modules() if not _runtime_only(m)]


def test_every_package_module_is_listed():
    assert "gateway.settings" in MODULES and "local_runner.upstream_client" in MODULES
    assert len(MODULES) >= 30


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone_in_a_fresh_interpreter(module):
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd="/", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
