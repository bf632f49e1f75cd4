"""GET /tasks: shape, order and filters. Each test isolates its data with a unique context."""

import pytest


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["tasks"]]


def test_list_tasks_returns_object_with_tasks_array_and_no_cursor(api, unique_context):
    # Scoped to this test's tasks: the shared store grows all session, and the case is
    # about the answer's shape (the unfiltered list: test_list_tasks_includes_a_new_task).
    created = [api.create_task(context=unique_context)["id"] for _ in range(3)]
    body = api.get("/tasks", params={"context": unique_context}).json()
    assert set(body) == {"tasks", "next_cursor"}
    assert body["next_cursor"] is None
    assert isinstance(body["tasks"], list)
    assert [t["id"] for t in body["tasks"]] == created[::-1]


def test_list_tasks_is_newest_first_even_within_one_millisecond(api, unique_context):
    created = [api.create_task(title=f"t{i}", context=unique_context)["id"] for i in range(6)]
    assert _ids(api.get("/tasks", params={"context": unique_context})) == created[::-1]


def test_list_tasks_order_is_stable_across_calls(api, unique_context):
    for i in range(4):
        api.create_task(title=f"t{i}", context=unique_context)
    first = _ids(api.get("/tasks", params={"context": unique_context}))
    assert first == _ids(api.get("/tasks", params={"context": unique_context}))


def test_list_tasks_order_ignores_updates(api, unique_context):
    older = api.create_task(context=unique_context)
    newer = api.create_task(context=unique_context)
    api.patch(f"/tasks/{older['id']}", json={"title": "touched"})
    assert _ids(api.get("/tasks", params={"context": unique_context})) == [newer["id"], older["id"]]


def test_list_tasks_includes_a_new_task(api):
    # The unfiltered list, newest first, read a page at a time: its first two pages are the
    # two newest tasks, whatever else the shared store holds (a whole read costs its size).
    older = api.create_task()
    newer = api.create_task()
    first = api.get("/tasks", params={"limit": "1"}).json()
    assert [t["id"] for t in first["tasks"]] == [newer["id"]]
    assert first["next_cursor"] is not None
    second = api.get("/tasks", params={"limit": "1", "cursor": first["next_cursor"]}).json()
    assert [t["id"] for t in second["tasks"]] == [older["id"]]


def test_filter_by_context_returns_only_that_context(api, unique_context):
    mine = api.create_task(context=unique_context)
    api.create_task(context=unique_context + "x")
    api.create_task()
    assert _ids(api.get("/tasks", params={"context": unique_context})) == [mine["id"]]


def test_filter_by_status(api, unique_context):
    waiting = api.create_task(context=unique_context, status="waiting")
    api.create_task(context=unique_context, status="next")
    # One page, newest first: our two tasks are the store's newest, so a filter that let
    # "next" through would show it here (the whole filtered list costs the store's size).
    response = api.get("/tasks", params={"status": "waiting", "limit": "20"})
    tasks = response.json()["tasks"]
    assert tasks[0]["id"] == waiting["id"]
    assert {t["status"] for t in tasks} == {"waiting"}


def test_filter_by_status_and_context_combine(api, unique_context):
    api.create_task(context=unique_context, status="next")
    done = api.create_task(context=unique_context, status="done")
    api.create_task(status="done")
    params = {"status": "done", "context": unique_context}
    assert _ids(api.get("/tasks", params=params)) == [done["id"]]


def test_filter_by_project_id(api):
    project, other = api.create_project(), api.create_project()
    a = api.create_task(project_id=project["id"])
    b = api.create_task(project_id=project["id"])
    api.create_task(project_id=other["id"])
    api.create_task()
    assert _ids(api.get("/tasks", params={"project_id": project["id"]})) == [b["id"], a["id"]]


def test_filter_by_project_id_combines_with_status(api):
    project = api.create_project()
    api.create_task(project_id=project["id"], status="inbox")
    nxt = api.create_task(project_id=project["id"], status="next")
    params = {"project_id": project["id"], "status": "next"}
    assert _ids(api.get("/tasks", params=params)) == [nxt["id"]]


def test_filter_by_unknown_project_id_is_empty(api):
    params = {"project_id": "00000000-0000-4000-8000-000000000000"}
    assert _ids(api.get("/tasks", params=params)) == []


def test_filter_sees_status_change(api, unique_context):
    task = api.create_task(context=unique_context)
    api.patch(f"/tasks/{task['id']}", json={"status": "someday"})
    assert _ids(api.get("/tasks", params={"context": unique_context, "status": "inbox"})) == []
    params = {"context": unique_context, "status": "someday"}
    assert _ids(api.get("/tasks", params=params)) == [task["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=bogus", "status"),
        ("status=", "status"),
        ("status=INBOX", "status"),
        ("project_id=not-a-uuid", "project_id"),
        ("context=home", "context"),
        ("context=%40with%20space", "context"),
        ("colour=red", "colour"),
        ("status=inbox&status=next", "status"),
    ],
)
def test_invalid_task_filter_is_422_naming_the_parameter(api, query, field):
    response = api.get(f"/tasks?{query}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
