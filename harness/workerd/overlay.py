"""Write the wrangler config for running the gateway on local workerd with the offline Pyodide bundle.

The repo's wrangler.toml holds production settings only. Running offline needs experimental
compat flags that must never reach a deploy (they select Pyodide `dev`; see
harness/workerd/README.md), so they live only in this generated overlay: wrangler.toml's
settings plus DEV_FLAGS, plus any vars or KV ids given here, with `main` rewritten so that it
still names the real src/entry.py from wherever the overlay is written.

    python -m harness.workerd.overlay [--out .cache/workerd/wrangler.dev.json] \\
        [--var ENVIRONMENT=local] [--kv BACKEND_CONFIG_KV=local-kv]
    npx wrangler dev --config .cache/workerd/wrangler.dev.json ...

The overlay is JSON (wrangler reads wrangler.json with the same keys as wrangler.toml) and
prints its path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BASE_CONFIG = REPO / "wrangler.toml"
DEFAULT_OUT = REPO / ".cache" / "workerd" / "wrangler.dev.json"

# What makes workerd run the Worker on the locally built Pyodide bundle:
DEV_FLAGS = (
    # Pyodide version `dev`: read pyodide_dev.capnp.bin from the bundle cache, no hash check.
    "python_workers_development",
    # The 2026 compat date turns on the 0.28.2 bundle (python_workers_20250116), which wins over dev.
    "no_python_workers_20250116",
    # Newer dates expect a vendored `workers` SDK; use the one built into workerd instead.
    "disable_python_external_sdk",
)

# Config keys holding paths, which wrangler resolves relative to the config file.
PATH_KEYS = ("main", "base_dir")


def load_base(path: Path = BASE_CONFIG) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def make_overlay(
    base: dict[str, Any],
    *,
    base_dir: Path,
    out_dir: Path,
    variables: dict[str, str] | None = None,
    kv_ids: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return base with DEV_FLAGS added, paths re-rooted at out_dir, and vars / KV ids overridden."""
    overlay: dict[str, Any] = json.loads(json.dumps(base))  # a deep copy, and proof that it is JSON-able
    for key in PATH_KEYS:
        if key in overlay:
            overlay[key] = os.path.relpath(base_dir / overlay[key], out_dir)
    flags = list(overlay.get("compatibility_flags", []))
    overlay["compatibility_flags"] = flags + [flag for flag in DEV_FLAGS if flag not in flags]
    if variables:
        overlay["vars"] = {**overlay.get("vars", {}), **variables}
    for binding, namespace_id in (kv_ids or {}).items():
        namespaces = [ns for ns in overlay.get("kv_namespaces", []) if ns.get("binding") == binding]
        if not namespaces:
            raise ValueError(f"wrangler.toml has no kv_namespaces entry with binding {binding!r}")
        namespaces[0]["id"] = namespace_id
    return overlay


def write_overlay(
    out: Path = DEFAULT_OUT,
    *,
    base_path: Path = BASE_CONFIG,
    variables: dict[str, str] | None = None,
    kv_ids: dict[str, str] | None = None,
) -> Path:
    out = out.resolve()
    overlay = make_overlay(
        load_base(base_path),
        base_dir=base_path.resolve().parent,
        out_dir=out.parent,
        variables=variables,
        kv_ids=kv_ids,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(overlay, indent=2) + "\n"
    if not out.is_file() or out.read_text(encoding="utf-8") != text:  # keep mtime for wrangler's watcher
        out.write_text(text, encoding="utf-8")
    return out


def _pairs(values: list[str], option: str) -> dict[str, str]:
    result = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"workerd_overlay: {option} takes NAME=VALUE, got {item!r}")
        result[key] = value
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write (default: %(default)s)")
    parser.add_argument("--base", type=Path, default=BASE_CONFIG, help="the production config (default: %(default)s)")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="set a [vars] entry")
    parser.add_argument("--kv", action="append", default=[], metavar="BINDING=ID", help="set a KV namespace id")
    args = parser.parse_args(argv)
    try:
        out = write_overlay(
            args.out, base_path=args.base, variables=_pairs(args.var, "--var"), kv_ids=_pairs(args.kv, "--kv")
        )
    except ValueError as exc:
        print(f"workerd_overlay: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
