"""Build the Pyodide bundle that workerd loads for the `dev` Pyodide version, offline.

workerd runs a Python Worker on a Pyodide *bundle* (a Cap'n Proto `jsg::Bundle`). With the
compat flag `python_workers_development` it uses the version `dev`, reads
`pyodide_dev.capnp.bin` from `--pyodide-bundle-disk-cache-dir` and checks no hash, so a bundle
built here from the npm package `pyodide` works (harness/workerd/README.md has the background).

Inputs, all local:
  node_modules/pyodide-dev/           npm alias of the Pyodide release workerd calls `dev`
  harness/workerd/modules.capnp       the bundle schema (from workerd's source)
  harness/workerd/pyodide_patches.json  the text patches for pyodide.asm.mjs (from workerd's source)
  the workerd binary                  read to check the `dev` version and the patches' imports

Output: .cache/pyodide-bundle/pyodide_dev.capnp.bin and, beside it, a stamp naming every
input (versions and SHA-256). A run whose inputs match the stamp does nothing.

    .venv/bin/python harness/workerd/build_bundle.py [--force] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

PYODIDE_DIR = REPO / "node_modules" / "pyodide-dev"
WORKERD_BINARY = REPO / "node_modules" / "@cloudflare" / "workerd-linux-64" / "bin" / "workerd"
SCHEMA = HERE / "modules.capnp"
PATCHES = HERE / "pyodide_patches.json"
OUT_DIR = REPO / ".cache" / "pyodide-bundle"
BUNDLE_NAME = "pyodide_dev.capnp.bin"
STAMP_NAME = "pyodide_dev.stamp.json"

# The module names workerd's built-in emscriptenSetup imports (checked in the binary too).
MODULE_PREFIX = "pyodideRuntime-internal:"
ASM_MJS, ASM_WASM, STDLIB_ZIP = "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"

# In the binary's embedded pyodide_extra.capnp release table, the `dev` entry's flag name is
# followed by the real Pyodide version it stands for.
DEV_VERSION_RE = re.compile(rb"pythonWorkersDevPyodide\x00([0-9][0-9A-Za-z.]*)\x00")
EXPORT_RE = re.compile(r"^export (?:async )?(?:function\*? |const |let |var |class )([A-Za-z_$][\w$]*)", re.M)
IMPORT_RE = re.compile(r"import\s*\{([^}]*)\}\s*from\s*[\"']([^\"']+)[\"']")


class BuildError(Exception):
    """A problem with the inputs; the message says what to do."""


@dataclass(frozen=True)
class Patch:
    find: str
    replace: str
    optional: bool


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_patches(path: Path) -> tuple[dict[str, Any], list[Patch]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    patches = [Patch(p["find"], p["replace"], bool(p.get("optional", False))) for p in doc["replacements"]]
    return doc, patches


def read_pyodide_version(pyodide_dir: Path) -> str:
    manifest = pyodide_dir / "package.json"
    if not manifest.is_file():
        raise BuildError(
            f"{manifest} is missing: install the npm alias first "
            "(`npm ci`; package.json has `pyodide-dev`: `npm:pyodide@<dev version>`)"
        )
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


def inspect_workerd(binary: Path, patches_doc: dict[str, Any]) -> str:
    """Return the Pyodide version the binary calls `dev`; check the patches fit the binary."""
    if not binary.is_file():
        raise BuildError(f"workerd binary not found at {binary} (run `npm ci`, or pass --workerd)")
    with binary.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as image:
        found = DEV_VERSION_RE.search(image)
        if found is None:
            raise BuildError(f"cannot find which Pyodide version {binary} calls `dev` (no release table entry)")
        dev_version = found.group(1).decode()
        missing = [s for s in patches_doc["binary_must_contain"] if image.find(s.encode()) < 0]
        if missing:
            raise BuildError(f"{binary} lacks {missing}: the patches in {PATCHES.name} do not fit this workerd")
        wrappers_source = _embedded_module_source(image, patches_doc["builtin_wrappers_module"])
    exported = set(EXPORT_RE.findall(wrappers_source))
    for names, module in _prelude_imports(patches_doc):
        if module != patches_doc["builtin_wrappers_module"]:
            raise BuildError(f"the patches import from {module!r}, which this check does not know")
        unknown = sorted(set(names) - exported)
        if unknown:
            raise BuildError(f"{module} in {binary} does not export {unknown}, which the patched pyodide.asm imports")
    return dev_version


def _embedded_module_source(image: mmap.mmap, module_name: str) -> str:
    # Module names and sources are NUL-terminated capnp Text; the source follows its name.
    at = image.find(module_name.encode() + b"\x00")
    while at >= 0:
        start = at + len(module_name) + 1
        while image[start] == 0:
            start += 1
        end = image.find(b"\x00", start)
        source = image[start:end].decode("utf-8", "replace")
        if "export " in source:
            return source
        at = image.find(module_name.encode() + b"\x00", end)
    raise BuildError(f"cannot find the source of {module_name} in the workerd binary")


def _prelude_imports(patches_doc: dict[str, Any]) -> list[tuple[list[str], str]]:
    result = []
    for patch in patches_doc["replacements"]:
        for names, module in IMPORT_RE.findall(patch["replace"]):
            result.append(([n.strip() for n in names.split(",") if n.strip()], module))
    return result


def apply_patches(text: str, patches: list[Patch]) -> tuple[str, list[int]]:
    counts = []
    for patch in patches:
        count = text.count(patch.find)
        if count == 0 and not patch.optional:
            raise BuildError(f"patch target {patch.find!r} not found in {ASM_MJS}: the patches do not fit this Pyodide")
        text = text.replace(patch.find, patch.replace)
        counts.append(count)
    return text, counts


def build_message(schema_path: Path, patched_mjs: bytes, wasm: bytes, stdlib: bytes) -> bytes:
    import capnp  # type: ignore[import-untyped]  # imported late: the stamp check must not need it

    capnp.remove_import_hook()
    schema = capnp.load(str(schema_path))
    bundle = schema.Bundle.new_message()
    modules = bundle.init("modules", 3)
    for module, name, kind, payload in (
        (modules[0], "pyodide.asm", "src", patched_mjs),
        (modules[1], ASM_WASM, "wasm", wasm),
        (modules[2], STDLIB_ZIP, "data", stdlib),
    ):
        module.name = MODULE_PREFIX + name
        setattr(module, kind, payload)
        module.type = "internal"
    return bytes(bundle.to_bytes())


def collect_inputs(pyodide_dir: Path, binary: Path) -> dict[str, Any]:
    import importlib.metadata

    try:
        pycapnp_version = importlib.metadata.version("pycapnp")
    except importlib.metadata.PackageNotFoundError:
        raise BuildError("pycapnp is not installed in this Python: `.venv/bin/pip install pycapnp==2.2.4`") from None
    pyodide_version = read_pyodide_version(pyodide_dir)
    files = {f"pyodide/{name}": pyodide_dir / name for name in ("package.json", ASM_MJS, ASM_WASM, STDLIB_ZIP)}
    files.update({"schema": SCHEMA, "patches": PATCHES, "build_script": Path(__file__).resolve(), "workerd": binary})
    return {
        "pyodide_version": pyodide_version,
        "pycapnp_version": pycapnp_version,
        "workerd_path": str(binary),
        "sha256": {key: sha256_file(path) for key, path in files.items()},
    }


def build(out_dir: Path, pyodide_dir: Path, binary: Path, *, force: bool = False, check: bool = False) -> bool:
    """Build the bundle if its inputs changed. Return True if it was (or, with check, would be) built."""
    bundle_path, stamp_path = out_dir / BUNDLE_NAME, out_dir / STAMP_NAME
    inputs = collect_inputs(pyodide_dir, binary)
    if not force and bundle_path.is_file() and stamp_path.is_file():
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        if stamp.get("inputs") == inputs and stamp.get("bundle_sha256") == sha256_file(bundle_path):
            print(f"{_shown(bundle_path)} is up to date (Pyodide {inputs['pyodide_version']})")
            return False
    if check:
        print(f"{bundle_path} is missing or out of date", file=sys.stderr)
        return True

    patches_doc, patches = load_patches(PATCHES)
    dev_version = inspect_workerd(binary, patches_doc)
    if dev_version != inputs["pyodide_version"]:
        raise BuildError(
            f"workerd ({binary}) calls Pyodide {dev_version} `dev`, but {_shown(pyodide_dir)} is Pyodide "
            f"{inputs['pyodide_version']}: set package.json's `pyodide-dev` to `npm:pyodide@{dev_version}` "
            "and check the patches (harness/workerd/README.md, 'On a workerd upgrade')"
        )
    mjs, counts = apply_patches((pyodide_dir / ASM_MJS).read_text(encoding="utf-8"), patches)
    message = build_message(
        SCHEMA, mjs.encode("utf-8"), (pyodide_dir / ASM_WASM).read_bytes(), (pyodide_dir / STDLIB_ZIP).read_bytes()
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomically(bundle_path, message)
    stamp = {
        "inputs": inputs,
        "workerd_dev_pyodide_version": dev_version,
        "patch_match_counts": counts,
        "bundle_sha256": hashlib.sha256(message).hexdigest(),
        "bundle_bytes": len(message),
    }
    _write_atomically(stamp_path, (json.dumps(stamp, indent=2) + "\n").encode())
    print(f"built {_shown(bundle_path)}: Pyodide {dev_version}, {len(message):,} bytes")
    return True


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--pyodide-dir", type=Path, default=PYODIDE_DIR)
    parser.add_argument("--workerd", type=Path, default=Path(os.environ.get("WORKERD_OFFLINE_BINARY", WORKERD_BINARY)))
    parser.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    parser.add_argument("--check", action="store_true", help="build nothing; exit 1 if a build is needed")
    args = parser.parse_args(argv)
    try:
        needed = build(
            args.out_dir.resolve(),
            args.pyodide_dir.resolve(),
            args.workerd.resolve(),
            force=args.force,
            check=args.check,
        )
    except BuildError as exc:
        print(f"build_bundle: {exc}", file=sys.stderr)
        return 2
    return 1 if args.check and needed else 0


if __name__ == "__main__":
    sys.exit(main())
