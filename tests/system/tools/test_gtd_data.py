"""``gtd-data`` (tools/gtd_data): export, import and copy through a real gateway to two real backends.

bun-sqlite and ruby-sqlite (two implementations of contract v2, each with its
own empty store) behind the twin; the command runs as a process, as a person
runs it.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import services
from harness.process import free_port
from tests.support.processes import start_or_fail

START_S = 30


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("logs")
    started = []
    urls = {}
    for name, recipe in (("bun-sqlite", services.bun_sqlite), ("ruby-sqlite", services.ruby_sqlite)):
        port = free_port()
        service = recipe(port, tmp_path_factory.mktemp(name), logs)
        start_or_fail(service, START_S)
        started.append(service)
        urls[name] = f"http://127.0.0.1:{port}"
    port = free_port()
    settings = {
        "ENVIRONMENT": "local",
        "DEFAULT_BACKEND": "bun-sqlite",
        "BACKEND_BUN_SQLITE_URL": urls["bun-sqlite"],
        "BACKEND_RUBY_SQLITE_URL": urls["ruby-sqlite"],
    }
    twin = services.twin(port, settings, logs / "gateway.log")
    start_or_fail(twin, START_S)
    started.append(twin)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for service in reversed(started):
            service.stop()


def gtd_data(gateway: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gtd_data", "--gateway", gateway, *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


def call(gateway: str, backend: str, method: str, path: str, body: Any = None) -> httpx.Response:
    response = httpx.request(method, gateway + path, headers={"x-backend": backend}, json=body, timeout=30)
    assert response.status_code < 400, response.text
    return response


def export(gateway: str, backend: str) -> dict[str, Any]:
    document: dict[str, Any] = call(gateway, backend, "GET", "/export").json()
    return document


def seed(gateway: str, backend: str) -> dict[str, Any]:
    """A small system on ``backend``: a project, a recurring task in it, a task it blocks, a done one."""
    project = call(gateway, backend, "POST", "/projects", {"name": "Move house", "notes": "before März"}).json()
    first = call(
        gateway,
        backend,
        "POST",
        "/tasks",
        {
            "title": "Call the movers",
            "project_id": project["id"],
            "context": "@phone",
            "due_date": "2027-01-15",
            "repeat": {"rule": "FREQ=WEEKLY;BYDAY=FR", "from": "due"},
        },
    ).json()
    call(
        gateway,
        backend,
        "POST",
        "/tasks",
        {"title": "Pack books 📚", "status": "next", "blocked_by": [first["id"]], "defer_until": "2027-01-10"},
    )
    call(gateway, backend, "POST", "/tasks", {"title": "Old chore", "status": "done"})
    return export(gateway, backend)


def items(document: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    return document["projects"], document["tasks"]


def test_copy_puts_every_project_and_task_on_the_other_backend_with_ids_and_timestamps(gateway):
    source = seed(gateway, "bun-sqlite")
    result = gtd_data(gateway, "copy", "--from", "bun-sqlite", "--to", "ruby-sqlite")
    assert result.returncode == 0, result.stderr
    assert "tasks: 3 created, 0 updated, 0 unchanged" in result.stdout
    assert items(export(gateway, "ruby-sqlite")) == items(source)


def test_copying_again_changes_nothing(gateway):
    before = export(gateway, "ruby-sqlite")
    result = gtd_data(gateway, "copy", "--from", "bun-sqlite", "--to", "ruby-sqlite")
    assert result.returncode == 0, result.stderr
    projects, tasks = items(before)
    assert f"tasks: 0 created, 0 updated, {len(tasks)} unchanged" in result.stdout
    assert f"projects: 0 created, 0 updated, {len(projects)} unchanged" in result.stdout
    assert items(export(gateway, "ruby-sqlite")) == items(before)


def test_a_change_on_one_backend_reaches_the_other_with_the_next_copy(gateway):
    task = export(gateway, "ruby-sqlite")["tasks"][-1]
    call(gateway, "ruby-sqlite", "PATCH", f"/tasks/{task['id']}", {"title": "Old chore, renamed"})
    result = gtd_data(gateway, "copy", "--from", "ruby-sqlite", "--to", "bun-sqlite")
    assert result.returncode == 0, result.stderr
    assert "tasks: 0 created, 1 updated," in result.stdout
    assert items(export(gateway, "bun-sqlite")) == items(export(gateway, "ruby-sqlite"))


def test_export_writes_the_document_to_a_file(gateway, tmp_path: Path):
    out = tmp_path / "gtd.json"
    result = gtd_data(gateway, "export", "--backend", "bun-sqlite", "-o", str(out))
    assert result.returncode == 0, result.stderr
    written = json.loads(out.read_text())
    assert written["version"] == 2
    assert items(written) == items(export(gateway, "bun-sqlite"))


def test_export_csv_has_one_row_per_task_with_the_project_by_name(gateway):
    result = gtd_data(gateway, "export", "--backend", "bun-sqlite", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    tasks = export(gateway, "bun-sqlite")["tasks"]
    assert [row["id"] for row in rows] == [task["id"] for task in tasks]
    movers = next(row for row in rows if row["title"] == "Call the movers")
    assert (movers["project"], movers["repeat"]) == ("Move house", "FREQ=WEEKLY;BYDAY=FR (from due)")


def test_import_reads_a_document_from_standard_input(gateway):
    document = export(gateway, "bun-sqlite")
    result = gtd_data(gateway, "import", "-", "--backend", "ruby-sqlite", stdin=json.dumps(document).encode())
    assert result.returncode == 0, result.stderr
    assert "imported into ruby-sqlite: projects: 0 created" in result.stdout


def test_a_refused_import_names_the_first_bad_item_and_writes_nothing(gateway, tmp_path: Path):
    document = export(gateway, "bun-sqlite")
    document["tasks"][1]["status"] = "finished"
    document["tasks"][2]["title"] = ""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    before = export(gateway, "ruby-sqlite")
    result = gtd_data(gateway, "import", str(bad), "--backend", "ruby-sqlite")
    assert result.returncode == 1
    assert "422 validation_error (tasks[1].status)" in result.stderr
    assert "request id" in result.stderr
    assert items(export(gateway, "ruby-sqlite")) == items(before)


def test_copy_to_the_same_backend_is_a_usage_error(gateway):
    result = gtd_data(gateway, "copy", "--from", "bun-sqlite", "--to", "bun-sqlite")
    assert result.returncode == 2
    assert "same backend" in result.stderr


def test_an_unknown_backend_is_reported_with_the_gateways_code(gateway):
    result = gtd_data(gateway, "copy", "--from", "bun-sqlite", "--to", "nowhere")
    assert result.returncode == 1
    assert "unknown_backend" in result.stderr


def test_a_gateway_that_does_not_answer_is_reported(tmp_path: Path):
    result = gtd_data(f"http://127.0.0.1:{free_port()}", "export", "--backend", "bun-sqlite")
    assert result.returncode == 1
    assert "cannot reach the gateway" in result.stderr
