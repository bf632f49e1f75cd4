"""Task CRUD: the happy paths and the 404s."""

import datetime as dt
import uuid

import pytest

MISSING = "00000000-0000-4000-8000-000000000000"
#: What a task created with only its title has.
DEFAULTS = {
    "status": "inbox",
    "notes": None,
    "project_id": None,
    "context": None,
    "due_date": None,
    "defer_until": None,
    "repeat": None,
    "blocked_by": [],
    "blocked": False,
    "completed_at": None,
}


def _parse_ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_create_task_with_only_title_applies_defaults(api):
    task = api.create_task(title="Buy milk")
    assert task["title"] == "Buy milk"
    assert {field: task[field] for field in DEFAULTS} == DEFAULTS
    assert uuid.UUID(task["id"]).version == 4
    assert task["created_at"] == task["updated_at"]


def test_create_task_timestamps_are_utc_and_recent(api):
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    task = api.create_task()
    created = _parse_ts(task["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert before < created < dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)


def test_create_task_sets_location_to_the_new_task(api):
    response = api.post("/tasks", json={"title": "Locate me"})
    assert response.status_code == 201
    location = response.headers["location"]
    assert location == f"/tasks/{response.json()['id']}"
    assert api.get(location).json() == response.json()


def test_create_task_with_every_field_round_trips(api, unique_context):
    project = api.create_project()
    fields = {
        "title": "Call the plumber",
        "notes": "about the leak\nsecond line",
        "status": "waiting",
        "project_id": project["id"],
        "context": unique_context,
        "due_date": "2024-02-29",
    }
    created = api.create_task(**fields)
    for key, value in fields.items():
        assert created[key] == value, key
    assert api.get(f"/tasks/{created['id']}").json() == created


def test_create_task_ids_are_unique(api):
    ids = {api.create_task()["id"] for _ in range(5)}
    assert len(ids) == 5


def test_create_task_keeps_unicode_title(api):
    title = "Zähne 🦷 putzen — 歯"
    assert api.create_task(title=title)["title"] == title


@pytest.mark.parametrize("title", ["x", "x" * 500, "🙂" * 500])
def test_create_task_accepts_title_length_bounds(api, title):
    assert api.create_task(title=title)["title"] == title


@pytest.mark.parametrize("status", ["inbox", "next", "waiting", "scheduled", "someday", "done"])
def test_create_task_accepts_every_status(api, status):
    assert api.create_task(status=status)["status"] == status


def test_get_task_returns_it(api):
    task = api.create_task()
    response = api.get(f"/tasks/{task['id']}")
    assert response.status_code == 200
    assert response.json() == task


def test_get_task_accepts_uppercase_id(api):
    task = api.create_task()
    assert api.get(f"/tasks/{task['id'].upper()}").json() == task


def test_get_unknown_task_is_404(api):
    response = api.get(f"/tasks/{MISSING}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "123", "%ZZ", "00000000-0000-4000-8000-00000000000g"])
def test_get_task_with_malformed_id_is_404(api, bad_id):
    response = api.get(f"/tasks/{bad_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_patch_task_changes_only_given_fields(api, unique_context):
    task = api.create_task(title="before", notes="keep me", context=unique_context)
    response = api.patch(f"/tasks/{task['id']}", json={"title": "after", "status": "next"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["title"] == "after"
    assert updated["status"] == "next"
    assert updated["notes"] == "keep me"
    assert updated["context"] == unique_context
    assert updated["id"] == task["id"]
    assert updated["created_at"] == task["created_at"]
    assert api.get(f"/tasks/{task['id']}").json() == updated


def test_patch_task_advances_updated_at(api):
    task = api.create_task()
    updated = api.patch(f"/tasks/{task['id']}", json={"status": "done"}).json()
    assert _parse_ts(updated["updated_at"]) >= _parse_ts(task["updated_at"])
    assert updated["created_at"] == task["created_at"]


def test_patch_task_null_clears_nullable_fields(api, unique_context):
    project = api.create_project()
    task = api.create_task(notes="n", project_id=project["id"], context=unique_context, due_date="2030-01-01")
    cleared = {"notes": None, "project_id": None, "context": None, "due_date": None}
    response = api.patch(f"/tasks/{task['id']}", json=cleared)
    assert response.status_code == 200
    for key in cleared:
        assert response.json()[key] is None, key


def test_patch_task_can_move_to_another_project(api):
    first, second = api.create_project(), api.create_project()
    task = api.create_task(project_id=first["id"])
    response = api.patch(f"/tasks/{task['id']}", json={"project_id": second["id"]})
    assert response.status_code == 200
    assert response.json()["project_id"] == second["id"]


def test_patch_unknown_task_is_404(api):
    response = api.patch(f"/tasks/{MISSING}", json={"title": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_patch_unknown_task_is_404_even_with_invalid_body(api):
    response = api.patch(f"/tasks/{MISSING}", json={"title": 5})
    assert response.status_code == 404


def test_delete_task_then_it_is_gone(api, unique_context):
    kept = api.create_task(context=unique_context)
    task = api.create_task(context=unique_context)
    response = api.delete(f"/tasks/{task['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/tasks/{task['id']}").status_code == 404
    # Gone from the list too, scoped to this test's context (the shared store grows all session).
    assert [t["id"] for t in api.get("/tasks", params={"context": unique_context}).json()["tasks"]] == [kept["id"]]


def test_delete_task_twice_is_404(api):
    task = api.create_task()
    assert api.delete(f"/tasks/{task['id']}").status_code == 204
    response = api.delete(f"/tasks/{task['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_delete_unknown_task_is_404(api):
    assert api.delete(f"/tasks/{MISSING}").status_code == 404
