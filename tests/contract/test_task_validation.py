"""POST/PATCH /tasks input rules: every violation is a 422 naming the field, never a 500."""

import pytest

MISSING = "00000000-0000-4000-8000-000000000000"

# (body, field) pairs that break exactly one rule on create.
INVALID_CREATE = [
    ({}, "title"),
    ({"notes": "no title"}, "title"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 501}, "title"),
    ({"title": "🙂" * 501}, "title"),
    ({"title": None}, "title"),
    ({"title": 5}, "title"),
    ({"title": ["a"]}, "title"),
    ({"title": {"text": "a"}}, "title"),
    ({"title": True}, "title"),
    ({"title": "t", "notes": 1}, "notes"),
    ({"title": "t", "notes": "x" * 10_001}, "notes"),
    ({"title": "t", "status": "bogus"}, "status"),
    ({"title": "t", "status": "Inbox"}, "status"),
    ({"title": "t", "status": None}, "status"),
    ({"title": "t", "status": 1}, "status"),
    ({"title": "t", "project_id": "not-a-uuid"}, "project_id"),
    ({"title": "t", "project_id": 42}, "project_id"),
    ({"title": "t", "project_id": MISSING}, "project_id"),
    ({"title": "t", "context": "home"}, "context"),
    ({"title": "t", "context": "@"}, "context"),
    ({"title": "t", "context": "@two words"}, "context"),
    ({"title": "t", "context": "@" + "x" * 50}, "context"),
    ({"title": "t", "context": 7}, "context"),
    ({"title": "t", "due_date": "2023-02-29"}, "due_date"),
    ({"title": "t", "due_date": "2024-13-01"}, "due_date"),
    ({"title": "t", "due_date": "2024-04-31"}, "due_date"),
    ({"title": "t", "due_date": "2024-00-10"}, "due_date"),
    ({"title": "t", "due_date": "2024-1-5"}, "due_date"),
    ({"title": "t", "due_date": "05/01/2024"}, "due_date"),
    ({"title": "t", "due_date": "2024-01-05T10:00:00Z"}, "due_date"),
    ({"title": "t", "due_date": 20240105}, "due_date"),
    ({"title": "t", "due_date": ""}, "due_date"),
    ({"title": "t", "priority": "high"}, "priority"),
    ({"title": "t", "id": MISSING}, "id"),
    ({"title": "t", "created_at": "2024-01-01T00:00:00.000Z"}, "created_at"),
    ({"title": "t", "updated_at": "2024-01-01T00:00:00.000Z"}, "updated_at"),
    # v2 members
    ({"title": "t", "defer_until": "2023-02-29"}, "defer_until"),
    ({"title": "t", "defer_until": "2024-01-05T10:00:00Z"}, "defer_until"),
    ({"title": "t", "defer_until": ""}, "defer_until"),
    ({"title": "t", "defer_until": 20240105}, "defer_until"),
    ({"title": "t", "repeat": "FREQ=DAILY"}, "repeat"),
    ({"title": "t", "repeat": {"rule": "FREQ=DAILY"}}, "repeat"),
    ({"title": "t", "repeat": {"from": "due"}}, "repeat"),
    ({"title": "t", "repeat": {"rule": "FREQ=DAILY", "from": "start"}}, "repeat"),
    ({"title": "t", "repeat": {"rule": "FREQ=DAILY", "from": "due", "until": "2030-01-01"}}, "repeat"),
    ({"title": "t", "repeat": {"rule": 5, "from": "due"}}, "repeat"),
    ({"title": "t", "repeat": []}, "repeat"),
    ({"title": "t", "blocked_by": None}, "blocked_by"),
    ({"title": "t", "blocked_by": MISSING}, "blocked_by"),
    ({"title": "t", "blocked_by": [MISSING]}, "blocked_by"),
    ({"title": "t", "blocked_by": ["not-a-uuid"]}, "blocked_by"),
    ({"title": "t", "blocked_by": [5]}, "blocked_by"),
    ({"title": "t", "blocked": True}, "blocked"),
    ({"title": "t", "completed_at": "2024-01-01T00:00:00.000Z"}, "completed_at"),
]


def _assert_validation_error(response, field):
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert error["message"]


@pytest.mark.parametrize(("body", "field"), INVALID_CREATE, ids=lambda v: repr(v)[:40])
def test_create_task_rejects_invalid_field(api, body, field):
    _assert_validation_error(api.post("/tasks", json=body), field)


@pytest.mark.parametrize(
    ("body", "field"), [(b, f) for b, f in INVALID_CREATE if b.get("title") == "t"], ids=lambda v: repr(v)[:40]
)
def test_patch_task_rejects_invalid_field(api, body, field):
    task = api.create_task()
    patch = {k: v for k, v in body.items() if k != "title"}
    _assert_validation_error(api.patch(f"/tasks/{task['id']}", json=patch), field)
    assert api.get(f"/tasks/{task['id']}").json() == task  # nothing changed


@pytest.mark.parametrize("body", [{"title": None}, {"title": ""}, {"title": 3}])
def test_patch_task_rejects_invalid_title(api, body):
    task = api.create_task()
    _assert_validation_error(api.patch(f"/tasks/{task['id']}", json=body), "title")


def test_patch_task_with_empty_object_is_422(api):
    task = api.create_task()
    response = api.patch(f"/tasks/{task['id']}", json={})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("due_date", ["2024-02-29", "2000-02-29", "1999-12-31", "2099-01-01"])
def test_create_task_accepts_real_dates(api, due_date):
    assert api.create_task(due_date=due_date)["due_date"] == due_date


def test_create_task_accepts_project_id_in_uppercase(api):
    project = api.create_project()
    task = api.create_task(project_id=project["id"].upper())
    assert task["project_id"] == project["id"]


def test_rejected_create_stores_nothing(api, unique_context):
    response = api.post("/tasks", json={"title": "t", "context": unique_context, "status": "nope"})
    assert response.status_code == 422
    assert api.get("/tasks", params={"context": unique_context}).json() == {"tasks": [], "next_cursor": None}


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"a string"', "42", "null", "true"])
def test_create_task_with_non_object_json_is_422(api, body):
    response = api.post("/tasks", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "field" not in error


@pytest.mark.parametrize("body", ["[]", '"x"', "null"])
def test_patch_task_with_non_object_json_is_422(api, body):
    task = api.create_task()
    response = api.patch(f"/tasks/{task['id']}", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("field", ["title", "notes"])
def test_lone_surrogate_is_422(api, field):
    body = f'{{"title": "t", "{field}": "bad \\ud800 half"}}'
    if field == "title":
        body = '{"title": "bad \\ud800 half"}'
    response = api.post("/tasks", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_surrogate_pair_escape_round_trips(api):
    body = '{"title": "emoji \\ud83d\\ude42"}'
    response = api.post("/tasks", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201
    assert response.json()["title"] == "emoji 🙂"


def test_nul_and_control_characters_round_trip(api):
    title = "a\x00b\tc\x1fd"
    assert api.create_task(title=title)["title"] == title


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_json_is_422_not_an_object(api, depth):
    # Well-formed JSON that is not an object: the contract's 422 without `field`
    # (a parser that gave up on the depth would say 400 invalid_json; a crash, 500).
    body = "[" * depth + "]" * depth
    response = api.post("/tasks", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text[:200]
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "field" not in error
