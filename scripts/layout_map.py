"""Print the repo's top-level map: each folder, its lines of code, and which other folders use it.

    .venv/bin/python scripts/layout_map.py            # a Markdown table (docs/design.md, "The top-level map")
    .venv/bin/python scripts/layout_map.py --json     # the same, as JSON

A folder is a top-level folder, except that ``tools/`` and ``backends/`` hold
independent programs, so each of their subfolders is one row. Lines are
non-blank lines of the files git tracks or would track (ignored and generated
files are not counted). "Imported by" comes from import statements (Python
``import``/``from``, JavaScript/TypeScript ``import``/``require`` of a relative
path); "run or read by" from paths and ``-m module`` named in the Makefile,
shell scripts, Dockerfiles and Compose, and from string literals in code that
name an existing path (``ROOT / "harness" / "workerd"``, ``"backends/cf-d1"``).
The root's own files (Makefile, docker-compose.yml, .ci/run) count as the
user ``(root)``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Top-level folders whose subfolders are separate programs, one row each.
COLLECTIONS = ("tools", "backends")
#: Where Python finds top-level import names (pyproject: pytest pythonpath, mypy_path).
IMPORT_ROOTS = (".", "src", "tools", "backends/python-postgres")
PYTHON = {".py"}
JAVASCRIPT = {".js", ".mjs", ".cjs", ".ts", ".tsx"}
OTHER_CODE = {".rb", ".ex", ".exs", ".sh"}
ROOT_USER = "(root)"
GENERATED = re.compile(r"auto-generated|do not edit|@generated", re.IGNORECASE)

_JS_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\(\s*)["']([^"'\n]+)["']""",
)
_STRING = re.compile(r""""([^"\n]{1,200})"|'([^'\n]{1,200})'""")
# ROOT / "harness" / "workerd" (pathlib) and path.join(root, "harness", "workerd") (Node).
_SEGMENTS = re.compile(r"""(?:(?:/|,)\s*["'][\w.-]+["']\s*)+""")
_MODULE_RUN = re.compile(r"""-m["',\s]+([A-Za-z_][\w.]*)""")
_WORD_PATH = re.compile(r"(?<![\w./-])(?:\./)?([\w.-]+/[\w./-]*)")


@dataclass
class Row:
    """One folder of the map."""

    folder: str
    lines: dict[str, int] = field(default_factory=lambda: {"python": 0, "js/ts": 0, "other": 0})
    imported_by: set[str] = field(default_factory=set)
    run_by: set[str] = field(default_factory=set)


def tracked_files(root: Path) -> list[Path]:
    """Files git tracks or would track (not ignored), that exist now."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    files = (root / name for name in out.split("\0") if name)
    return sorted(path for path in files if path.is_file() and not path.is_symlink())


def units(root: Path) -> list[str]:
    """The folders of the map: top-level folders, with COLLECTIONS split one level."""
    names: list[str] = []
    for top in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if top.name in COLLECTIONS:
            names.extend(f"{top.name}/{sub.name}" for sub in sorted(top.iterdir()) if sub.is_dir())
        else:
            names.append(top.name)
    return names


def unit_of(path: Path, root: Path, known: Iterable[str]) -> str | None:
    """The map folder ``path`` lies in; ROOT_USER for a file at the root; None outside the repo."""
    try:
        rel = path.resolve().relative_to(root.resolve())
    except ValueError:
        return None
    parts = rel.parts
    if not parts or parts[0].startswith(".") or (len(parts) == 1 and not path.is_dir()):
        return ROOT_USER
    candidate = "/".join(parts[:2]) if parts[0] in COLLECTIONS else parts[0]
    return candidate if candidate in known else None


def python_modules(root: Path) -> dict[str, Path]:
    """Top-level import name → its package folder or module file."""
    modules: dict[str, Path] = {}
    for base in (root / name for name in IMPORT_ROOTS):
        for child in sorted(base.iterdir()) if base.is_dir() else ():
            if child.is_dir() and (child / "__init__.py").is_file():
                modules.setdefault(child.name, child)
            elif child.suffix == ".py" and base != root:
                modules.setdefault(child.stem, child)
    return modules


def _python_imports(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _resolve(candidate: str, source: Path, root: Path) -> Path | None:
    """An existing path that ``candidate`` names, read from the file's folder or the root."""
    candidate = candidate.strip().removeprefix("./")
    if not candidate or candidate.startswith(("/", "http:", "https:")) or "://" in candidate:
        return None
    for base in (source.parent, root):
        path = (base / candidate).resolve()
        # Next to the file, a missing extension is how JS imports name modules.
        for option in (path, *(path.with_name(path.name + ext) for ext in (".ts", ".tsx", ".js", ".mjs"))):
            if option.exists():
                return option
    return None


def build(root: Path) -> list[Row]:
    """The map of ``root``: one Row per folder, users filled in."""
    files = tracked_files(root)
    every = units(root)
    known = sorted({unit for path in files if (unit := unit_of(path, root, every)) and unit != ROOT_USER})
    rows = {name: Row(name) for name in known}
    modules = python_modules(root)
    for path in files:
        user = unit_of(path, root, known)
        if user is None:
            continue
        if not _group(path) and not _is_runner(path):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # moved meanwhile, or not text
            continue
        if GENERATED.search(text[:400]):
            continue
        group = _group(path)
        if group and user in rows:
            rows[user].lines[group] += sum(1 for line in text.splitlines() if line.strip())
        for target in _imports(path, text, root, modules, known):
            if target != user and target in rows:
                rows[target].imported_by.add(user)
        for target in _runs(path, text, root, modules, known):
            if target != user and target in rows:
                rows[target].run_by.add(user)
    for row in rows.values():
        row.run_by -= row.imported_by  # imported is the stronger tie; say it once
    return list(rows.values())


def _group(path: Path) -> str | None:
    if path.suffix in PYTHON:
        return "python"
    if path.suffix in JAVASCRIPT:
        return "js/ts"
    if path.suffix in OTHER_CODE:
        return "other"
    return None


def _is_runner(path: Path) -> bool:
    """Makefile, shell scripts, Dockerfiles and Compose: files that run others by path."""
    return (
        path.name in {"Makefile", "run", "docker-compose.yml"}
        or path.suffix == ".sh"
        or path.name.startswith("Dockerfile")
    )


def _imports(path: Path, text: str, root: Path, modules: dict[str, Path], known: list[str]) -> set[str]:
    targets: set[str | None] = set()
    if path.suffix in PYTHON:
        targets = {unit_of(modules[name], root, known) for name in _python_imports(text) if name in modules}
    elif path.suffix in JAVASCRIPT:
        for spec in _JS_IMPORT.findall(text):
            if spec.startswith("."):
                found = _resolve(spec, path, root)
                targets.add(unit_of(found, root, known) if found else None)
    return {target for target in targets if target}


def _runs(path: Path, text: str, root: Path, modules: dict[str, Path], known: list[str]) -> set[str]:
    """Folders whose files this one runs or reads by path, or runs with ``-m``."""
    names: set[str] = set()
    if path.suffix in PYTHON | JAVASCRIPT | OTHER_CODE:
        names.update(a or b for a, b in _STRING.findall(text) if "/" in (a or b))
        for chain in _SEGMENTS.findall(text):
            names.add("/".join(re.findall(r"""["']([\w.-]+)["']""", chain)))
    elif _is_runner(path):
        code = re.sub(r"(?m)(?:^|(?<=\s))#.*$", "", text)  # a comment names paths; it does not use them
        names.update(_WORD_PATH.findall(code))
    targets = {unit_of(found, root, known) for name in names if (found := _resolve(name, path, root))}
    for module in _MODULE_RUN.findall(text):
        top = module.split(".")[0]
        if top in modules:
            targets.add(unit_of(modules[top], root, known))
    return {target for target in targets if target}


def render_markdown(rows: list[Row]) -> str:
    """The map as a Markdown table."""
    lines = [
        "| folder | Python | JS/TS | other | imported by | run or read by |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row.folder}/` | {_n(row.lines['python'])} | {_n(row.lines['js/ts'])} | {_n(row.lines['other'])} "
            f"| {', '.join(sorted(row.imported_by)) or '—'} | {', '.join(sorted(row.run_by)) or '—'} |"
        )
    return "\n".join(lines)


def _n(count: int) -> str:
    return f"{count:,}" if count else "—"


def main(argv: list[str] | None = None) -> int:
    """Print the map of this repo."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = parser.parse_args(argv)
    rows = build(ROOT)
    if args.json:
        payload = [
            {**row.lines, "folder": row.folder, "imported_by": sorted(row.imported_by), "run_by": sorted(row.run_by)}
            for row in rows
        ]
        print(json.dumps(payload, indent=2))
    else:
        print(render_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
