"""What ``wrangler deploy --dry-run`` would upload for the Python Worker.

For a Python Worker, wrangler does not bundle: ``--outdir`` receives every
module as its own file (``entry.py``, ``gateway/...``; plus a README.md it
writes), and the log lists them in an "Attaching additional modules" table
with type ``python``. The workers SDK is not part of the upload (the runtime
provides it). The dry run needs no network and no Cloudflare account.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SRC = ROOT / "src"
WRANGLER = ROOT / "node_modules" / ".bin" / "wrangler"
RUNTIME_MODULES = {"js", "pyodide", "workers"}
#: The only package allowed to import the runtime (entry.py's ``on_fetch`` needs no SDK class).
SEAM = "gateway/workers/"


def source_modules() -> dict[str, bytes]:
    return {
        str(path.relative_to(SRC)): path.read_bytes()
        for path in sorted(SRC.rglob("*.py"))
        if "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not WRANGLER.exists():
        pytest.fail(f"{WRANGLER} missing: run `npm ci`")
    outdir = tmp_path_factory.mktemp("bundle")
    env = {
        **{k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR")},
        "PATH": f"{WRANGLER.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "WRANGLER_SEND_METRICS": "false",
        "CI": "1",
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [str(WRANGLER), "deploy", "--dry-run", "--outdir", str(outdir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return outdir, result.stdout + result.stderr


def test_bundle_holds_every_module_of_src_unchanged(dry_run):
    outdir, _ = dry_run
    bundled = {str(path.relative_to(outdir)): path.read_bytes() for path in outdir.rglob("*.py")}
    expected = source_modules()
    assert set(bundled) == set(expected), (
        f"missing: {set(expected) - set(bundled)}, extra: {set(bundled) - set(expected)}"
    )
    for name, content in expected.items():
        assert bundled[name] == content, f"{name} differs from src/"


def test_wrangler_attaches_each_module_as_python(dry_run):
    _, log = dry_run
    listed = dict(re.findall(r"│\s*(\S+\.py)\s*│\s*(\w+)\s*│", log))
    expected = set(source_modules()) - {"entry.py"}  # the main module is not "additional"
    assert expected <= set(listed), f"not attached: {expected - set(listed)}"
    assert {listed[name] for name in expected} == {"python"}


def test_bundle_holds_nothing_but_src(dry_run):
    outdir, _ = dry_run
    files = {str(p.relative_to(outdir)) for p in outdir.rglob("*") if p.is_file()}
    assert files - set(source_modules()) <= {"README.md"}
    assert not any("__pycache__" in f or f.startswith(("tests", "local_runner")) for f in files)


def test_bundle_binds_the_backend_config_kv(dry_run):
    _, log = dry_run
    assert re.search(r"env\.BACKEND_CONFIG_KV\b.*KV Namespace", log), log


def test_only_the_seam_imports_the_workers_runtime():
    offenders = []
    for name, content in source_modules().items():
        for node in ast.walk(ast.parse(content)):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            if roots & RUNTIME_MODULES and not name.startswith(SEAM):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []
