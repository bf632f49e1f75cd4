"""Move a person's tasks between backends through the gateway (contract v2 ``/export`` and ``/import``).

    gtd-data export --backend ruby-sqlite [-o tasks.json | --csv -o tasks.csv]
    gtd-data import tasks.json --backend python-postgres
    gtd-data copy --from bun-sqlite --to elixir-sqlite

Each backend keeps its own data; ``copy`` is ``GET /export`` on one and
``POST /import`` of that document on the other, both through the gateway
(``x-backend``, ``x-backend-location``). Import merges by id and keeps ids and
timestamps, so running ``copy`` again changes nothing (the counts say
``unchanged``), and copying back and forth converges. The gateway's URL comes
from ``--gateway`` or ``GTD_GATEWAY_URL`` (default ``http://127.0.0.1:8787``,
``make run``'s), its key from ``--api-key`` or ``GTD_API_KEY``.

Exit status: 0 done; 1 the gateway or a backend refused (its error code,
message, field and request id are printed); 2 usage or an unreadable file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

DEFAULT_GATEWAY = "http://127.0.0.1:8787"
CSV_COLUMNS = (
    "id",
    "title",
    "notes",
    "status",
    "project",
    "context",
    "due_date",
    "defer_until",
    "repeat",
    "blocked_by",
    "completed_at",
    "created_at",
    "updated_at",
)


class GatewayRefused(Exception):
    """The gateway or the backend answered an error; ``str()`` is what a person should read."""


class Client:
    """The gateway, one backend at a time (``x-backend``, optional ``x-backend-location``)."""

    def __init__(self, gateway: str, api_key: str | None, timeout_s: float) -> None:
        headers = {"x-api-key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=gateway.rstrip("/"), headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def export(self, backend: str, location: str | None) -> dict[str, Any]:
        response = self._send("GET", "/export", backend, location)
        document: dict[str, Any] = response.json()
        return document

    def import_(self, backend: str, location: str | None, body: bytes) -> dict[str, Any]:
        response = self._send("POST", "/import", backend, location, content=body)
        result: dict[str, Any] = response.json()
        return result

    def _send(self, method: str, path: str, backend: str, location: str | None, **kw: Any) -> httpx.Response:
        headers = {"x-backend": backend, "content-type": "application/json"}
        if location:
            headers["x-backend-location"] = location
        try:
            response = self._http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise GatewayRefused(f"{method} {path} on {backend}: cannot reach the gateway ({exc})") from None
        if response.status_code >= 400:
            raise GatewayRefused(f"{method} {path} on {backend}: {describe_error(response)}")
        return response


def describe_error(response: httpx.Response) -> str:
    """``422 validation_error (tasks[3].status): ... [request id ...]`` from an error answer."""
    try:
        error = response.json()["error"]
        text = f"{response.status_code} {error['code']}"
        if error.get("field"):
            text += f" ({error['field']})"
        text += f": {error['message']}"
    except (ValueError, KeyError, TypeError):
        text = f"{response.status_code} (not a JSON error body)"
    if request_id := response.headers.get("x-request-id"):
        text += f" [request id {request_id}]"
    return text


def summary(document: dict[str, Any]) -> str:
    return f"{len(document.get('projects', []))} projects, {len(document.get('tasks', []))} tasks"


def describe_result(result: dict[str, Any]) -> str:
    parts = []
    for kind in ("projects", "tasks"):
        counts = result.get(kind, {})
        parts.append(
            f"{kind}: {counts.get('created', 0)} created, {counts.get('updated', 0)} updated, "
            f"{counts.get('unchanged', 0)} unchanged"
        )
    return "; ".join(parts)


def to_csv(document: dict[str, Any]) -> str:
    """The tasks of an export as CSV (one row per task; the project by name; repeat as its rule)."""
    names = {project["id"]: project["name"] for project in document.get("projects", [])}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for task in document.get("tasks", []):
        repeat = task.get("repeat")
        row = {column: task.get(column) for column in CSV_COLUMNS}
        row["project"] = names.get(task.get("project_id") or "", "")
        row["repeat"] = f"{repeat['rule']} (from {repeat['from']})" if repeat else ""
        row["blocked_by"] = " ".join(task.get("blocked_by") or [])
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return out.getvalue()


def run_export(client: Client, args: argparse.Namespace) -> None:
    document = client.export(args.backend, args.location)
    text = to_csv(document) if args.csv else json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    print(f"exported {summary(document)} from {args.backend}", file=sys.stderr)


def run_import(client: Client, args: argparse.Namespace) -> None:
    try:
        body = Path(args.file).read_bytes() if args.file != "-" else sys.stdin.buffer.read()
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot read ({exc.strerror})") from None
    result = client.import_(args.backend, args.location, body)
    print(f"imported into {args.backend}: {describe_result(result)}")


def run_copy(client: Client, args: argparse.Namespace) -> None:
    if (args.source, args.source_location) == (args.target, args.target_location):
        raise UsageError("--from and --to name the same backend")
    print(f"exporting from {args.source} ...", file=sys.stderr)
    document = client.export(args.source, args.source_location)
    body = json.dumps(document, ensure_ascii=False).encode()
    print(
        f"exported {summary(document)} ({len(body) / 1024:.0f} KiB); importing into {args.target} ...", file=sys.stderr
    )
    result = client.import_(args.target, args.target_location, body)
    print(f"copied {args.source} -> {args.target}: {describe_result(result)}")


class UsageError(Exception):
    """Bad arguments or an unreadable input file (exit status 2)."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gtd-data", description=__doc__.split("\n\n")[0] if __doc__ else None)
    top.add_argument("--gateway", default=os.environ.get("GTD_GATEWAY_URL", DEFAULT_GATEWAY))
    top.add_argument("--api-key", default=os.environ.get("GTD_API_KEY"))
    top.add_argument("--timeout", type=float, default=300.0, help="seconds per request (default 300)")
    commands = top.add_subparsers(dest="command", required=True)

    export = commands.add_parser("export", help="write one backend's data as JSON (or its tasks as CSV)")
    export.add_argument("--backend", required=True)
    export.add_argument("--location", choices=("local", "cloud"))
    export.add_argument("--csv", action="store_true", help="tasks as CSV instead of the JSON document")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")

    imp = commands.add_parser("import", help="merge an exported JSON document into one backend")
    imp.add_argument("file", help="the JSON document ('-' for standard input)")
    imp.add_argument("--backend", required=True)
    imp.add_argument("--location", choices=("local", "cloud"))

    copy = commands.add_parser("copy", help="copy every project and task from one backend to another")
    copy.add_argument("--from", dest="source", required=True)
    copy.add_argument("--from-location", dest="source_location", choices=("local", "cloud"))
    copy.add_argument("--to", dest="target", required=True)
    copy.add_argument("--to-location", dest="target_location", choices=("local", "cloud"))
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    client = Client(args.gateway, args.api_key, args.timeout)
    commands = {"export": run_export, "import": run_import, "copy": run_copy}
    try:
        commands[args.command](client, args)
    except GatewayRefused as exc:
        print(f"gtd-data: {exc}", file=sys.stderr)
        return 1
    except UsageError as exc:
        print(f"gtd-data: {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
