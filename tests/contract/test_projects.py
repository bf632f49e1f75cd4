"""Projects: CRUD, list, validation, and what deleting one does to its tasks."""

import pytest

MISSING = "00000000-0000-4000-8000-000000000000"
#: What a project created with only its name has.
DEFAULTS = {"status": "active", "notes": None, "reviewed_on": None, "task_counts": {"open": 0, "done": 0, "next": 0}}


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["projects"]]


def test_create_project_with_only_name_applies_defaults(api):
    project = api.create_project(name="Garden")
    assert project["name"] == "Garden"
    assert {field: project[field] for field in DEFAULTS} == DEFAULTS
    assert project["created_at"] == project["updated_at"]


def test_create_project_sets_location_to_the_new_project(api):
    response = api.post("/projects", json={"name": "Locate me"})
    assert response.status_code == 201
    assert response.headers["location"] == f"/projects/{response.json()['id']}"


def test_create_project_with_every_field_round_trips(api):
    project = api.create_project(name="Taxes 2025", status="someday", notes="ask accountant")
    assert (project["name"], project["status"], project["notes"]) == ("Taxes 2025", "someday", "ask accountant")
    assert api.get(f"/projects/{project['id']}").json() == project


@pytest.mark.parametrize("name", ["x", "n" * 200])
def test_create_project_accepts_name_length_bounds(api, name):
    assert api.create_project(name=name)["name"] == name


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": None}, "name"),
        ({"name": 1}, "name"),
        ({"name": "p", "status": "inbox"}, "status"),
        ({"name": "p", "status": None}, "status"),
        ({"name": "p", "notes": False}, "notes"),
        ({"name": "p", "owner": "me"}, "owner"),
        ({"name": "p", "id": MISSING}, "id"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_create_project_rejects_invalid_field(api, body, field):
    response = api.post("/projects", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_error", field)


def test_create_project_with_non_object_json_is_422(api):
    response = api.post("/projects", json=["name"])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_list_projects_returns_object_newest_first(api):
    a, b, c = api.create_project(), api.create_project(), api.create_project()
    ids = _ids(api.get("/projects"))
    positions = [ids.index(p["id"]) for p in (c, b, a)]
    assert positions == sorted(positions)
    assert api.get("/projects").json()["next_cursor"] is None


def test_list_projects_filters_by_status(api):
    done = api.create_project(status="done")
    active = api.create_project()
    projects = api.get("/projects", params={"status": "done"}).json()["projects"]
    assert done["id"] in [p["id"] for p in projects]
    assert active["id"] not in [p["id"] for p in projects]
    assert {p["status"] for p in projects} == {"done"}


@pytest.mark.parametrize(("query", "field"), [("status=bogus", "status"), ("name=x", "name")])
def test_invalid_project_filter_is_422(api, query, field):
    response = api.get(f"/projects?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_get_unknown_project_is_404(api):
    response = api.get(f"/projects/{MISSING}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_get_project_with_malformed_id_is_404(api):
    assert api.get("/projects/nope").status_code == 404


def test_patch_project(api):
    project = api.create_project(name="old", notes="keep")
    response = api.patch(f"/projects/{project['id']}", json={"name": "new", "status": "done"})
    assert response.status_code == 200
    updated = response.json()
    assert (updated["name"], updated["status"], updated["notes"]) == ("new", "done", "keep")
    assert updated["created_at"] == project["created_at"]
    assert updated["updated_at"] >= project["updated_at"]
    assert api.get(f"/projects/{project['id']}").json() == updated


def test_patch_project_clears_notes_with_null(api):
    project = api.create_project(notes="n")
    assert api.patch(f"/projects/{project['id']}", json={"notes": None}).json()["notes"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": ""}, "name"), ({"name": None}, "name"), ({"status": "nope"}, "status"), ({"colour": "red"}, "colour")],
)
def test_patch_project_rejects_invalid_field(api, body, field):
    project = api.create_project()
    response = api.patch(f"/projects/{project['id']}", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert api.get(f"/projects/{project['id']}").json() == project


def test_patch_project_with_empty_object_is_422(api):
    project = api.create_project()
    assert api.patch(f"/projects/{project['id']}", json={}).status_code == 422


def test_patch_unknown_project_is_404(api):
    assert api.patch(f"/projects/{MISSING}", json={"name": "x"}).status_code == 404


def test_delete_project_then_it_is_gone(api):
    project = api.create_project()
    response = api.delete(f"/projects/{project['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/projects/{project['id']}").status_code == 404
    assert api.delete(f"/projects/{project['id']}").status_code == 404


def test_delete_unknown_project_is_404(api):
    assert api.delete(f"/projects/{MISSING}").status_code == 404


def test_delete_project_keeps_its_tasks_with_null_project_id(api, unique_context):
    project = api.create_project()
    tasks = [api.create_task(project_id=project["id"], context=unique_context) for _ in range(2)]
    assert api.delete(f"/projects/{project['id']}").status_code == 204
    for task in tasks:
        after = api.get(f"/tasks/{task['id']}").json()
        assert after["project_id"] is None
        assert after["title"] == task["title"]
    assert api.get("/tasks", params={"project_id": project["id"]}).json() == {"tasks": [], "next_cursor": None}
    assert len(api.get("/tasks", params={"context": unique_context}).json()["tasks"]) == 2


def test_task_cannot_reference_a_deleted_project(api):
    project = api.create_project()
    api.delete(f"/projects/{project['id']}")
    response = api.post("/tasks", json={"title": "t", "project_id": project["id"]})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "project_id"
