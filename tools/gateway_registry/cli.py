"""Validate a ``backends.json`` and move it into the gateway's KV namespace.

    gateway-registry validate backends.json
    gateway-registry bulk backends.json -o kv-bulk.json
    gateway-registry push backends.json (--local [--persist-to DIR] | --remote) [--prune]
    gateway-registry list (--local [--persist-to DIR] | --remote)
    gateway-registry delete ID (--local [--persist-to DIR] | --remote)

``push``/``list``/``delete`` run ``wrangler kv … --binding BACKEND_CONFIG_KV``
with the project's ``wrangler.toml``. Validation is two-layered: the JSON
Schema (shape, with the path of the bad entry) and then the gateway's own
document parser, so the tool can never accept what the Worker would drop.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from gateway.registry.cloud import KEY_PREFIX, DocumentError, MissingSecret, parse_document

BINDING = "BACKEND_CONFIG_KV"


class RegistryFileError(Exception):
    """``backends.json`` is not acceptable; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files(__package__).joinpath("schema.json").read_text())
    return loaded


def load(path: str | Path) -> list[dict[str, Any]]:
    """Read and validate a registry file; raise RegistryFileError naming each bad entry."""
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise RegistryFileError([f"{path}: cannot read ({exc.strerror})"]) from None
    except ValueError as exc:
        raise RegistryFileError([f"{path}: not valid JSON ({exc})"]) from None
    validator = jsonschema.Draft202012Validator(schema())
    problems = [
        f"{path}: {_where(error.absolute_path, document)}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if problems:
        raise RegistryFileError(problems)
    backends: list[dict[str, Any]] = document["backends"]
    seen: dict[str, int] = {}
    for index, entry in enumerate(backends):
        where = _where(["backends", index], document)
        if entry["id"] in seen:
            problems.append(f"{path}: {where}: duplicate id (first at backends[{seen[entry['id']]}])")
            continue
        seen[entry["id"]] = index
        try:
            # Secrets live in the Worker, not here: check only that names are given.
            parse_document(entry["id"], json.dumps(entry), _AnySecret())
        except (DocumentError, MissingSecret) as exc:
            problems.append(f"{path}: {where}: document {exc}")
    if problems:
        raise RegistryFileError(problems)
    return backends


class _AnySecret(dict[str, str]):
    """Every secret name resolves (the values exist only in the deployed Worker)."""

    def get(self, key: str, default: Any = None) -> str:
        return "present"


def _where(path: Sequence[Any], document: Any) -> str:
    """``backends[2] (id 'cf-d1').url``: the JSON path, with the entry's id when known."""
    parts = list(path)
    text = ""
    node = document
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(part, int) and isinstance(node, dict) and isinstance(node.get("id"), str):
            text += f" (id {node['id']!r})"
    return text or "(top level)"


def bulk_entries(backends: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The JSON ``wrangler kv bulk put`` takes: ``[{"key", "value"}]``."""
    return [
        {"key": KEY_PREFIX + entry["id"], "value": json.dumps(entry, separators=(",", ":"), sort_keys=True)}
        for entry in backends
    ]


class Wrangler:
    """Runs ``wrangler kv`` against the binding, locally or remotely."""

    def __init__(self, *, remote: bool, persist_to: str | None, config: str | None, executable: str) -> None:
        self._where = ["--remote"] if remote else ["--local", *(["--persist-to", persist_to] if persist_to else [])]
        self._config = ["--config", config] if config else []
        self._exe = executable

    def run(self, *args: str) -> str:
        command = [self._exe, "kv", *args, "--binding", BINDING, *self._where, *self._config]
        env = {**os.environ, "WRANGLER_SEND_METRICS": "false"}
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} failed ({result.returncode}):\n{result.stderr.strip()}")
        return result.stdout

    def list_keys(self) -> list[str]:
        output = self.run("key", "list", "--prefix", KEY_PREFIX)
        start = output.find("[")  # wrangler may print a banner before the JSON
        return [item["name"] for item in json.loads(output[start:])] if start >= 0 else []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway-registry", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check a backends.json").add_argument("file")
    bulk = sub.add_parser("bulk", help="write the file `wrangler kv bulk put` takes")
    bulk.add_argument("file")
    bulk.add_argument("-o", "--output", required=True)
    for name, help_text in (
        ("push", "validate, then write every backend to KV"),
        ("list", "list backend ids in KV"),
        ("delete", "remove one backend from KV"),
    ):
        command = sub.add_parser(name, help=help_text)
        if name == "push":
            command.add_argument("file")
            command.add_argument("--prune", action="store_true", help="also delete backends not in the file")
        if name == "delete":
            command.add_argument("id")
        where = command.add_mutually_exclusive_group(required=True)
        where.add_argument("--local", action="store_true", help="wrangler's local KV (as wrangler dev uses)")
        where.add_argument("--remote", action="store_true", help="the KV namespace on Cloudflare")
        command.add_argument("--persist-to", help="with --local: wrangler's --persist-to folder")
        command.add_argument("--config", help="wrangler.toml to use (default: wrangler's own lookup)")
        command.add_argument("--wrangler", default=shutil.which("wrangler") or "wrangler", help="wrangler executable")
    args = parser.parse_args(argv)

    try:
        if args.command in ("validate", "bulk", "push"):
            backends = load(args.file)
        if args.command == "validate":
            print(f"{args.file}: {len(backends)} backend(s) valid")
            return 0
        if args.command == "bulk":
            Path(args.output).write_text(json.dumps(bulk_entries(backends), indent=2) + "\n")
            print(f"wrote {len(backends)} entr{'y' if len(backends) == 1 else 'ies'} to {args.output}")
            return 0
        wrangler = Wrangler(
            remote=args.remote, persist_to=args.persist_to, config=args.config, executable=args.wrangler
        )
        if args.command == "push":
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
                json.dump(bulk_entries(backends), handle)
            try:
                wrangler.run("bulk", "put", handle.name)
            finally:
                os.unlink(handle.name)
            pushed = {KEY_PREFIX + entry["id"] for entry in backends}
            removed = []
            if args.prune:
                for key in sorted(set(wrangler.list_keys()) - pushed):
                    wrangler.run("key", "delete", key)
                    removed.append(key)
            print(f"pushed {len(pushed)} backend(s)" + (f", removed {len(removed)}" if args.prune else ""))
        elif args.command == "list":
            for key in wrangler.list_keys():
                print(key[len(KEY_PREFIX) :])
        else:
            wrangler.run("key", "delete", KEY_PREFIX + args.id)
            print(f"deleted {args.id}")
        return 0
    except RegistryFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
