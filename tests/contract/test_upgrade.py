"""A v1 data folder opens with the current (v2) code, upgraded, nothing lost.

The fixtures under ``fixtures/v1/<backend>/`` were made by the v1 code (commit
e1154e7) through its API: a text dump of the store plus the v1 answers of
GET /tasks and GET /projects (``fixtures/v1/make_fixtures.py`` regenerates
them). Each test restores a dump into a fresh store, starts the current
backend on it (its migrations run at start) and reads it through the v2 API.

cf-d1 is not run here: it applies the same files in backends/shared/migrations
(through ``wrangler d1 migrations apply``) to the same SQLite schema that
bun-sqlite's dump holds, so bun-sqlite's case covers the SQL; what differs
(wrangler's own bookkeeping table) is wrangler's code, not ours.

The cases are named ``direct-<backend>``, so ``-k direct-bun-sqlite`` picks
them with the rest of the suite.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import services
from harness.process import free_port
from tests.support.processes import start_or_fail

from .conftest import BACKEND_DEADLINE_S, Api, Target
from .spec import ContractChecker

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v1"
SQLITE_RECIPES = {
    "bun-sqlite": services.bun_sqlite,
    "ruby-sqlite": services.ruby_sqlite,
    "elixir-sqlite": services.elixir_sqlite,
}
BACKENDS = (*SQLITE_RECIPES, "python-postgres")
V1_TASK_MEMBERS = ("id", "title", "notes", "status", "project_id", "context", "due_date", "created_at", "updated_at")
V1_PROJECT_MEMBERS = ("id", "name", "status", "notes", "created_at", "updated_at")


def _v1_answer(backend: str, name: str) -> list[dict]:
    return list(json.loads((FIXTURES / backend / f"{name}.json").read_text())[name])


def _restore_postgres(database: object, dump: Path) -> None:
    psql = str(database.bindir / "psql")  # type: ignore[attr-defined]
    url = database.database_url  # type: ignore[attr-defined]
    subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(dump)], check=True, capture_output=True
    )


@pytest.fixture(scope="module", params=BACKENDS, ids=[f"direct-{b}" for b in BACKENDS])
def upgraded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, logs_dir: Path, checker: ContractChecker
) -> Iterator[tuple[str, Api]]:
    """(backend, a client of the current backend running on the restored v1 store)."""
    backend: str = request.param
    dump = FIXTURES / backend / "store.sql"
    port = free_port()
    logs = tmp_path_factory.mktemp(f"upgrade-logs-{backend}")
    if backend == "python-postgres":
        from pgserver import PgServer

        database = PgServer.temporary().__enter__()
        try:
            _restore_postgres(database, dump)
            service = services.python_postgres(port, database.database_url, logs)
            start_or_fail(service, BACKEND_DEADLINE_S)
        except BaseException:
            database.__exit__(None, None, None)
            raise
    else:
        data = tmp_path_factory.mktemp(f"upgrade-{backend}")
        with sqlite3.connect(data / "gtd.db") as db:
            db.executescript(dump.read_text())
        service = SQLITE_RECIPES[backend](port, data, logs)
        start_or_fail(service, BACKEND_DEADLINE_S)
    client = Api(Target(f"upgrade-{backend}", f"http://127.0.0.1:{port}", backend), checker)
    try:
        yield backend, client
    finally:
        client.close()
        service.stop()
        if backend == "python-postgres":
            database.__exit__(None, None, None)


def _served_tasks(api: Api) -> dict[str, dict]:
    response = api.get("/tasks")
    assert response.status_code == 200, response.text
    return {t["id"]: t for t in response.json()["tasks"]}


def _served_projects(api: Api) -> dict[str, dict]:
    response = api.get("/projects")
    assert response.status_code == 200, response.text
    return {p["id"]: p for p in response.json()["projects"]}


def test_every_v1_task_is_served_with_its_v1_members_unchanged(upgraded):
    backend, api = upgraded
    v1 = _v1_answer(backend, "tasks")
    served = _served_tasks(api)
    for task in v1:
        assert task["id"] in served, task
        assert {k: served[task["id"]][k] for k in V1_TASK_MEMBERS} == task


def test_v1_task_order_is_kept(upgraded):
    backend, api = upgraded
    v1_ids = [t["id"] for t in _v1_answer(backend, "tasks")]
    served_ids = [t["id"] for t in api.get("/tasks").json()["tasks"]]
    assert [i for i in served_ids if i in set(v1_ids)] == v1_ids


def test_every_v1_project_is_served_with_its_v1_members_unchanged(upgraded):
    backend, api = upgraded
    served = _served_projects(api)
    for project in _v1_answer(backend, "projects"):
        assert project["id"] in served, project
        assert {k: served[project["id"]][k] for k in V1_PROJECT_MEMBERS} == project


def test_upgraded_tasks_have_the_new_members_defaults(upgraded):
    backend, api = upgraded
    served = _served_tasks(api)
    for task in _v1_answer(backend, "tasks"):
        got = served[task["id"]]
        assert (got["defer_until"], got["repeat"], got["blocked_by"], got["blocked"]) == (None, None, [], False)


def test_upgraded_done_tasks_were_completed_at_their_last_change(upgraded):
    backend, api = upgraded
    served = _served_tasks(api)
    v1 = _v1_answer(backend, "tasks")
    assert any(t["status"] == "done" for t in v1)
    for task in v1:
        expected = task["updated_at"] if task["status"] == "done" else None
        assert served[task["id"]]["completed_at"] == expected, task["title"]


def test_upgraded_projects_have_reviewed_on_null_and_right_task_counts(upgraded):
    backend, api = upgraded
    tasks = _v1_answer(backend, "tasks")
    served = _served_projects(api)
    for project in _v1_answer(backend, "projects"):
        mine = [t for t in tasks if t["project_id"] == project["id"]]
        expected = {
            "open": sum(t["status"] != "done" for t in mine),
            "done": sum(t["status"] == "done" for t in mine),
            "next": sum(t["status"] == "next" for t in mine),
        }
        assert served[project["id"]]["reviewed_on"] is None
        assert served[project["id"]]["task_counts"] == expected, project["name"]


def test_a_single_v1_task_reads_the_same_as_in_the_list(upgraded):
    backend, api = upgraded
    served = _served_tasks(api)
    for task in _v1_answer(backend, "tasks"):
        assert api.get(f"/tasks/{task['id']}").json() == served[task["id"]]


def test_writes_work_after_the_upgrade(upgraded):
    backend, api = upgraded
    old = _v1_answer(backend, "tasks")
    open_task = next(t for t in old if t["status"] == "next")
    new = api.create_task(title="after the upgrade", blocked_by=[open_task["id"]])
    assert new["blocked"] is True
    repeat = {"rule": "FREQ=DAILY", "from": "completion"}
    patched = api.patch(f"/tasks/{open_task['id']}", json={"repeat": repeat})
    assert patched.status_code == 200, patched.text
    done = api.patch(f"/tasks/{open_task['id']}", params={"today": "2027-01-01"}, json={"status": "done"})
    assert done.status_code == 200, done.text
    assert "next-occurrence-id" in done.headers
    assert api.get(f"/tasks/{new['id']}").json()["blocked"] is False
    project = next(p for p in _v1_answer(backend, "projects") if p["status"] == "active")
    marked = api.patch(f"/projects/{project['id']}", json={"reviewed_on": "2027-01-01"})
    assert marked.status_code == 200
    assert marked.json()["reviewed_on"] == "2027-01-01"


def test_export_after_the_upgrade_holds_every_v1_item(upgraded):
    backend, api = upgraded
    response = api.get("/export")
    assert response.status_code == 200
    document = response.json()
    exported = {t["id"] for t in document["tasks"]} | {p["id"] for p in document["projects"]}
    v1 = {t["id"] for t in _v1_answer(backend, "tasks")} | {p["id"] for p in _v1_answer(backend, "projects")}
    assert v1 <= exported
