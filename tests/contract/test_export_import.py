"""GET /export and POST /import (v2-spec §7).

All tests of a target share one store, so every assertion is scoped to the ids
a test created (or made up for its document).
"""

import json
import uuid

import pytest

JSON = {"content-type": "application/json"}
T0 = "2020-01-01T00:00:00.000Z"
T1 = "2020-01-02T00:00:00.000Z"
T2 = "2020-01-03T00:00:00.000Z"


def _export(api) -> dict:
    response = api.get("/export")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def _mine(document: dict, ids: set[str]) -> dict:
    """The document's projects and tasks whose id is in ``ids``, in document order."""
    return {kind: [item for item in document[kind] if item["id"] in ids] for kind in ("projects", "tasks")}


def _import(api, document: dict, **kwargs):
    return api.post("/import", content=json.dumps(document), headers={**JSON, **kwargs.pop("headers", {})})


def _ok(response) -> dict:
    assert response.status_code == 200, response.text[:500]
    return response.json()


def _refused(response) -> str:
    assert response.status_code == 422, response.text[:500]
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["field"]


def _new_id() -> str:
    return str(uuid.uuid4())


def _project(**fields) -> dict:
    return {"id": _new_id(), "name": "imported", "status": "active", "created_at": T0, "updated_at": T0} | fields


def _task(**fields) -> dict:
    return {"id": _new_id(), "title": "imported", "status": "inbox", "created_at": T0, "updated_at": T0} | fields


def _doc(projects: list[dict] | None = None, tasks: list[dict] | None = None) -> dict:
    return {"version": 2, "projects": projects or [], "tasks": tasks or []}


def _result(projects=(0, 0, 0), tasks=(0, 0, 0)) -> dict:
    keys = ("created", "updated", "unchanged")
    return {"projects": dict(zip(keys, projects, strict=True)), "tasks": dict(zip(keys, tasks, strict=True))}


def _absent(api, ids) -> bool:
    return all(api.get(f"/tasks/{i}").status_code == 404 and api.get(f"/projects/{i}").status_code == 404 for i in ids)


@pytest.fixture
def sample(api, unique_context) -> set[str]:
    """A project with tasks using every v2 member; answers their ids."""
    project = api.create_project(notes="ünïcode 🙂", reviewed_on="2026-12-01")
    a = api.create_task(project_id=project["id"], context=unique_context, status="next", due_date="2026-12-24")
    b = api.create_task(
        context=unique_context,
        defer_until="2030-01-01",
        repeat={"rule": "FREQ=WEEKLY;BYDAY=MO", "from": "due"},
        blocked_by=[a["id"]],
    )
    c = api.create_task(status="done", notes="finished", blocked_by=[a["id"], b["id"]])
    return {project["id"], a["id"], b["id"], c["id"]}


# -- export ---------------------------------------------------------------------


def test_export_has_version_and_both_arrays(api, sample):
    document = _export(api)
    assert document["version"] == 2
    mine = _mine(document, sample)
    assert len(mine["projects"]) == 1
    assert len(mine["tasks"]) == 3


def test_export_items_are_the_served_ones_without_computed_members(api, sample):
    mine = _mine(_export(api), sample)
    for project in mine["projects"]:
        served = api.get(f"/projects/{project['id']}").json()
        assert project == {k: v for k, v in served.items() if k != "task_counts"}
    for task in mine["tasks"]:
        served = api.get(f"/tasks/{task['id']}").json()
        assert task == {k: v for k, v in served.items() if k != "blocked"}


def test_export_is_oldest_first(api, unique_context):
    created = [api.create_task(context=unique_context)["id"] for _ in range(5)]
    projects = [api.create_project()["id"] for _ in range(3)]
    document = _export(api)
    assert [t["id"] for t in document["tasks"] if t["id"] in set(created)] == created
    assert [p["id"] for p in document["projects"] if p["id"] in set(projects)] == projects
    # Newest last: nothing created before our tasks can follow them.
    assert [t["id"] for t in document["tasks"][-5:]] == created


def test_export_rejects_any_query_parameter(api):
    response = api.get("/export", params={"format": "json"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "format"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/export", {"GET", "HEAD", "OPTIONS"}),
        ("DELETE", "/export", {"GET", "HEAD", "OPTIONS"}),
        ("GET", "/import", {"POST", "OPTIONS"}),
        ("PUT", "/import", {"POST", "OPTIONS"}),
        ("PATCH", "/import", {"POST", "OPTIONS"}),
    ],
)
def test_export_and_import_other_methods_are_405(api, method, path, allowed):
    # No body: a GET with one is a client error of its own (fetch refuses it on workerd).
    response = api.request(method, path)
    assert response.status_code == 405
    assert {m.strip().upper() for m in response.headers["allow"].split(",")} == allowed


def test_import_options_lists_post(api):
    response = api.options("/import")
    assert response.status_code == 204
    assert {m.strip().upper() for m in response.headers["allow"].split(",")} == {"POST", "OPTIONS"}


# -- round trips ------------------------------------------------------------------


def test_reimporting_an_export_changes_nothing(api, sample):
    document = _export(api)
    result = _ok(_import(api, document))
    assert result == _result((0, 0, len(document["projects"])), (0, 0, len(document["tasks"])))
    assert _mine(_export(api), sample) == _mine(document, sample)


def test_export_import_into_a_store_without_the_items_gives_them_back(api, sample):
    before = _mine(_export(api), sample)
    for task in reversed(before["tasks"]):
        assert api.delete(f"/tasks/{task['id']}").status_code == 204
    for project in before["projects"]:
        assert api.delete(f"/projects/{project['id']}").status_code == 204
    result = _ok(_import(api, {"version": 2, "exported_at": T0, **before}))
    assert result == _result((1, 0, 0), (3, 0, 0))
    assert _mine(_export(api), sample) == before


# -- import: inserting and merging ---------------------------------------------------


def test_import_inserts_new_items_as_given(api):
    project = _project(notes="n", reviewed_on="2026-11-30", created_at=T0, updated_at=T1)
    blocker = _task(status="done", completed_at=T1, updated_at=T1)
    task = _task(
        title="Imported ☃",
        notes="line\nline",
        status="next",
        project_id=project["id"],
        context="@import",
        due_date="2026-12-24",
        defer_until="2026-12-20",
        repeat={"rule": "FREQ=YEARLY", "from": "due"},
        blocked_by=[blocker["id"]],
        created_at=T1,
        updated_at=T2,
    )
    assert _ok(_import(api, _doc([project], [blocker, task]))) == _result((1, 0, 0), (2, 0, 0))
    served = api.get(f"/tasks/{task['id']}").json()
    assert served == task | {"blocked": False, "completed_at": None}
    assert api.get(f"/tasks/{blocker['id']}").json()["completed_at"] == T1
    served_project = api.get(f"/projects/{project['id']}").json()
    assert served_project == project | {"task_counts": {"open": 1, "done": 0, "next": 1}}


def test_import_defaults_absent_optional_members(api):
    project = _project()
    task = _task()
    _ok(_import(api, _doc([project], [task])))
    served = api.get(f"/tasks/{task['id']}").json()
    for key in ("notes", "project_id", "context", "due_date", "defer_until", "repeat", "completed_at"):
        assert served[key] is None, key
    assert served["blocked_by"] == []
    assert api.get(f"/projects/{project['id']}").json()["reviewed_on"] is None


def test_import_normalises_ids_to_lowercase(api):
    project = _project()
    task = _task(project_id=project["id"].upper())
    _ok(_import(api, _doc([project | {"id": project["id"].upper()}], [task | {"id": task["id"].upper()}])))
    assert api.get(f"/tasks/{task['id']}").json()["project_id"] == project["id"]


def test_import_replaces_an_item_with_a_later_updated_at(api):
    stored = api.create_task(title="old", status="next")
    blocker = api.create_task()
    item = {k: v for k, v in stored.items() if k != "blocked"}
    newer = item | {"title": "new", "blocked_by": [blocker["id"]], "updated_at": "2999-01-01T00:00:00.000Z"}
    assert _ok(_import(api, _doc([], [newer]))) == _result(tasks=(0, 1, 0))
    assert api.get(f"/tasks/{stored['id']}").json() == newer | {"blocked": True}


def test_import_keeps_an_item_whose_updated_at_is_not_later(api):
    stored = api.create_task(title="kept")
    item = {k: v for k, v in stored.items() if k != "blocked"}
    for updated_at in (stored["updated_at"], T0):
        result = _ok(_import(api, _doc([], [item | {"title": "ignored", "updated_at": updated_at}])))
        assert result == _result(tasks=(0, 0, 1))
    assert api.get(f"/tasks/{stored['id']}").json() == stored


def test_import_replaces_a_project_with_a_later_updated_at(api):
    stored = api.create_project(name="old")
    item = {k: v for k, v in stored.items() if k != "task_counts"}
    newer = item | {"name": "new", "status": "someday", "updated_at": "2999-01-01T00:00:00.000Z"}
    assert _ok(_import(api, _doc([newer]))) == _result(projects=(0, 1, 0))
    assert api.get(f"/projects/{stored['id']}").json() == newer | {"task_counts": stored["task_counts"]}


def test_import_may_reference_store_items(api):
    project = api.create_project()
    blocker = api.create_task()
    task = _task(project_id=project["id"], blocked_by=[blocker["id"]])
    _ok(_import(api, _doc([], [task])))
    served = api.get(f"/tasks/{task['id']}").json()
    assert (served["project_id"], served["blocked_by"], served["blocked"]) == (project["id"], [blocker["id"]], True)


def test_import_may_reference_a_later_task_in_the_document(api):
    later = _task()
    first = _task(blocked_by=[later["id"]])
    _ok(_import(api, _doc([], [first, later])))
    assert api.get(f"/tasks/{first['id']}").json()["blocked_by"] == [later["id"]]


def test_import_ignores_idempotency_key(api):
    first, second = _task(), _task()
    headers = {"idempotency-key": "same-key-" + uuid.uuid4().hex}
    assert _ok(_import(api, _doc([], [first]), headers=headers)) == _result(tasks=(1, 0, 0))
    replay = _import(api, _doc([], [second]), headers=headers)
    assert _ok(replay) == _result(tasks=(1, 0, 0))
    assert "idempotent-replayed" not in replay.headers
    malformed = _import(api, _doc([], [_task()]), headers={"idempotency-key": "has space"})
    assert malformed.status_code == 200


def test_import_accepts_a_body_over_one_mebibyte(api):
    # Over a mebibyte of body, but only a few tasks for the store: the targets share it
    # for the rest of the session, and every later case that reads the whole store
    # (lists, exports, counts) would pay for 1.5 MB of stored notes per target.
    tasks = [_task(notes="n" * 9_500) for _ in range(4)]
    padding = " " * (1536 * 1024)  # insignificant JSON whitespace, ahead of the tasks
    body = json.dumps(_doc()).replace('"tasks": []', f'"tasks":{padding}{json.dumps(tasks)}')
    assert 1.4 * 1024 * 1024 < len(body) < 32 * 1024 * 1024
    assert json.loads(body)["tasks"] == tasks
    response = api.post("/import", content=body, headers=JSON)
    assert _ok(response) == _result(tasks=(4, 0, 0))
    assert [api.get(f"/tasks/{task['id']}").json()["notes"] for task in tasks] == ["n" * 9_500] * 4


def test_import_over_32_mebibytes_is_413(api):
    body = json.dumps(_doc()) + " " * (32 * 1024 * 1024)
    response = api.post("/import", content=body, headers=JSON)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_other_routes_keep_the_one_mebibyte_limit(api):
    body = json.dumps({"title": "t"}) + " " * (1024 * 1024 + 1)
    response = api.post("/tasks", content=body, headers=JSON)
    assert response.status_code == 413


def test_import_malformed_json_is_400(api):
    response = api.post("/import", content='{"version": 2,', headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_import_non_json_content_type_is_415(api):
    response = api.post("/import", content=json.dumps(_doc()), headers={"content-type": "text/plain"})
    assert response.status_code == 415


# -- import: refusals ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"projects": [], "tasks": []}, "version"),
        ({"version": 2, "tasks": []}, "projects"),
        ({"version": 2, "projects": []}, "tasks"),
        ({"version": 2, "projects": [], "tasks": [], "extra": 1}, "extra"),
        ({"version": 2, "projects": {}, "tasks": []}, "projects"),
        ({"version": 2, "projects": [], "tasks": "none"}, "tasks"),
        ({"version": "2", "projects": [], "tasks": []}, "version"),
        ({"version": 1, "projects": [], "tasks": []}, "version"),
        ({"version": None, "projects": [], "tasks": []}, "version"),
    ],
    ids=lambda v: repr(v)[:50],
)
def test_import_top_level_problem_is_422_naming_the_member(api, document, field):
    assert _refused(api.post("/import", content=json.dumps(document), headers=JSON)) == field


def test_import_non_object_is_422(api):
    response = api.post("/import", content="[]", headers=JSON)
    assert response.status_code == 422


def test_import_from_a_newer_version_says_so(api):
    response = _import(api, {"version": 3, "projects": [], "tasks": []})
    assert _refused(response) == "version"
    assert "newer" in response.json()["error"]["message"].lower()


PROJECT_PROBLEMS = [
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"status": "inbox"}, "status"),
    ({"notes": 5}, "notes"),
    ({"reviewed_on": "2026-02-30"}, "reviewed_on"),
    ({"id": "nope"}, "id"),
    ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ({"updated_at": "2020-02-30T00:00:00.000Z"}, "updated_at"),
    ({"task_counts": {"open": 0, "done": 0, "next": 0}}, "task_counts"),
    ({"colour": "red"}, "colour"),
]


@pytest.mark.parametrize(("change", "member"), PROJECT_PROBLEMS, ids=lambda v: repr(v)[:40])
def test_import_bad_project_names_it_and_writes_nothing(api, change, member):
    good = _project()
    bad = _project() | change
    task = _task()
    response = _import(api, _doc([good, bad], [task]))
    assert _refused(response) == f"projects[1].{member}"
    assert _absent(api, [good["id"], task["id"]])


@pytest.mark.parametrize("member", ["id", "name", "status", "created_at", "updated_at"])
def test_import_project_missing_a_required_member_is_422(api, member):
    bad = {k: v for k, v in _project().items() if k != member}
    assert _refused(_import(api, _doc([bad]))) == f"projects[0].{member}"


TASK_PROBLEMS = [
    ({"title": "   "}, "title"),
    ({"status": "finished"}, "status"),
    ({"notes": "x" * 10_001}, "notes"),
    ({"context": "home"}, "context"),
    ({"due_date": "2026-13-01"}, "due_date"),
    ({"defer_until": 20260101}, "defer_until"),
    ({"repeat": {"rule": "FREQ=DAILY;COUNT=2", "from": "due"}}, "repeat"),
    ({"project_id": "00000000-0000-4000-8000-000000000000"}, "project_id"),
    ({"blocked_by": ["00000000-0000-4000-8000-000000000000"]}, "blocked_by"),
    ({"blocked_by": None}, "blocked_by"),
    ({"completed_at": "yesterday"}, "completed_at"),
    ({"created_at": "2020-01-01 00:00:00.000Z"}, "created_at"),
    ({"blocked": False}, "blocked"),
    ({"priority": 1}, "priority"),
]


@pytest.mark.parametrize(("change", "member"), TASK_PROBLEMS, ids=lambda v: repr(v)[:40])
def test_import_bad_task_names_it_and_writes_nothing(api, change, member):
    project = _project()
    good = _task(project_id=project["id"])
    bad = _task() | change
    response = _import(api, _doc([project], [good, bad]))
    assert _refused(response) == f"tasks[1].{member}"
    assert _absent(api, [project["id"], good["id"], bad["id"]])


@pytest.mark.parametrize("member", ["id", "title", "status", "created_at", "updated_at"])
def test_import_task_missing_a_required_member_is_422(api, member):
    bad = {k: v for k, v in _task().items() if k != member}
    assert _refused(_import(api, _doc([], [bad]))) == f"tasks[0].{member}"


def test_import_names_the_first_problem_in_document_order(api):
    tasks = [_task(), _task(status="bogus"), _task(title="")]
    projects = [_project(), _project(name="")]
    assert _refused(_import(api, _doc(projects, tasks))) == "projects[1].name"
    assert _refused(_import(api, _doc([], tasks))) == "tasks[1].status"
    assert _refused(_import(api, {"version": 9, "projects": projects, "tasks": tasks})) == "version"


def test_import_reference_problem_before_a_later_field_problem_is_named_first(api):
    tasks = [_task(blocked_by=["00000000-0000-4000-8000-000000000000"]), _task(status="bogus")]
    assert _refused(_import(api, _doc([], tasks))) == "tasks[0].blocked_by"


def test_import_duplicate_id_is_422(api):
    task = _task()
    twin = _task(id=task["id"].upper())
    assert _refused(_import(api, _doc([], [_task(), task, twin]))) == "tasks[2].id"
    assert _absent(api, [task["id"]])


def test_import_duplicate_project_id_is_422(api):
    project = _project()
    assert _refused(_import(api, _doc([project, dict(project)]))) == "projects[1].id"


def test_import_task_blocked_by_itself_is_422(api):
    task = _task()
    task["blocked_by"] = [task["id"]]
    assert _refused(_import(api, _doc([], [task]))) == "tasks[0].blocked_by"


def test_import_duplicate_blocker_is_422(api):
    blocker = _task()
    task = _task(blocked_by=[blocker["id"], blocker["id"]])
    assert _refused(_import(api, _doc([], [blocker, task]))) == "tasks[1].blocked_by"
    assert _absent(api, [blocker["id"], task["id"]])


def test_import_cycle_in_the_document_is_422(api):
    a, b, c = _task(), _task(), _task()
    a["blocked_by"], b["blocked_by"], c["blocked_by"] = [b["id"]], [c["id"]], [a["id"]]
    field = _refused(_import(api, _doc([], [_task(), a, b, c])))
    assert field in {"tasks[1].blocked_by", "tasks[2].blocked_by", "tasks[3].blocked_by"}
    assert _absent(api, [a["id"], b["id"], c["id"]])


def test_import_cycle_with_the_store_is_422(api):
    a = api.create_task()
    b = api.create_task(blocked_by=[a["id"]])
    item = {k: v for k, v in a.items() if k != "blocked"}
    newer = item | {"blocked_by": [b["id"]], "updated_at": "2999-01-01T00:00:00.000Z"}
    assert _refused(_import(api, _doc([], [_task(), newer]))) == "tasks[1].blocked_by"
    assert api.get(f"/tasks/{a['id']}").json() == a


def test_refused_import_leaves_existing_items_unchanged(api):
    stored = api.create_task(title="before")
    item = {k: v for k, v in stored.items() if k != "blocked"}
    newer = item | {"title": "after", "updated_at": "2999-01-01T00:00:00.000Z"}
    assert _refused(_import(api, _doc([], [newer, _task(status="bogus")]))) == "tasks[1].status"
    assert api.get(f"/tasks/{stored['id']}").json() == stored
