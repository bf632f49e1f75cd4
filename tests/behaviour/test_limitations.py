"""Every case skipped on one runtime is a real case, listed in docs/pyodide.md."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import LIMITATIONS
from .gateways import ROOT, RUNTIMES

HERE = Path(__file__).parent


def test_each_limitation_names_a_case_a_runtime_and_a_reason():
    cases = {
        node.name
        for path in HERE.glob("test_*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    for case, reasons in LIMITATIONS.items():
        assert case in cases, f"LIMITATIONS names {case}, which is no test"
        assert reasons and set(reasons) <= set(RUNTIMES)
        assert all(reason.strip() for reason in reasons.values())


def test_each_limitation_is_documented():
    doc = (ROOT / "docs" / "pyodide.md").read_text()
    assert "### LIMITATIONS" in doc
    for case in LIMITATIONS:
        assert case in doc, f"{case} is not listed in docs/pyodide.md"
