"""GET /counts (v2-spec §4): every number equals the length of the matching list answer."""

from collections import Counter

import pytest

FUTURE = "2999-01-01"
TASK_STATUSES = ("inbox", "next", "waiting", "scheduled", "someday")


def _count(api, path: str, params: dict) -> int:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return len(response.json()["tasks" if path == "/tasks" else "projects"])


def _expected(api, today: dict) -> dict:
    tasks = {s: _count(api, "/tasks", {"status": s, "deferred": "false", **today}) for s in TASK_STATUSES}
    tasks["done"] = _count(api, "/tasks", {"status": "done", **today})
    for name in ("deferred", "blocked", "available"):
        tasks[name] = _count(api, "/tasks", {name: "true", **today})
    projects = {s: _count(api, "/projects", {"status": s}) for s in ("active", "someday", "done")}
    every = api.get("/tasks").json()["tasks"]
    contexts = Counter(t["context"] for t in every if t["status"] != "done" and t["context"] is not None)
    return {"tasks": tasks, "projects": projects, "contexts": dict(contexts)}


@pytest.fixture
def varied_data(api, unique_context) -> None:
    """At least one task or project for every count (the store is shared, so more may exist)."""
    blocker = api.create_task(context=unique_context, status="next")
    api.create_task(context=unique_context, status="next", blocked_by=[blocker["id"]])
    api.create_task(context=unique_context, status="waiting", defer_until=FUTURE)
    api.create_task(context=unique_context, status="someday", defer_until="2030-06-15")
    for status in (*TASK_STATUSES, "done"):
        api.create_task(context=unique_context, status=status)
    for status in ("active", "someday", "done"):
        api.create_project(status=status)


def test_counts_equal_the_list_lengths(api, varied_data):
    response = api.get("/counts")
    assert response.status_code == 200
    assert response.json() == _expected(api, {})


@pytest.mark.parametrize("today", ["2030-06-14", "2030-06-15", "3000-01-01"])
def test_counts_with_today_equal_the_list_lengths_for_that_day(api, varied_data, today):
    response = api.get("/counts", params={"today": today})
    assert response.status_code == 200
    assert response.json() == _expected(api, {"today": today})


def test_counts_move_when_a_task_is_deferred(api):
    task = api.create_task(status="next")
    before = api.get("/counts").json()["tasks"]
    api.patch(f"/tasks/{task['id']}", json={"defer_until": FUTURE})
    after = api.get("/counts").json()["tasks"]
    assert (after["next"], after["deferred"], after["available"]) == (
        before["next"] - 1,
        before["deferred"] + 1,
        before["available"] - 1,
    )


def test_counts_list_each_open_tasks_context_with_its_spelling(api, unique_context):
    other = unique_context.upper()
    api.create_task(context=unique_context, status="next", defer_until=FUTURE)
    api.create_task(context=unique_context)
    api.create_task(context=other, status="waiting")
    api.create_task(context=unique_context + "-done", status="done")
    contexts = api.get("/counts").json()["contexts"]
    assert (contexts[unique_context], contexts[other]) == (2, 1)
    assert unique_context + "-done" not in contexts


def test_a_context_leaves_the_counts_when_its_last_open_task_is_done(api, unique_context):
    task = api.create_task(context=unique_context)
    assert api.get("/counts").json()["contexts"][unique_context] == 1
    api.patch(f"/tasks/{task['id']}", json={"status": "done"})
    assert unique_context not in api.get("/counts").json()["contexts"]


def test_counts_reject_an_unknown_parameter(api):
    response = api.get("/counts", params={"status": "next"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "status"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_counts_other_methods_are_405(api, method):
    response = api.request(method, "/counts")
    assert response.status_code == 405
    assert {m.strip().upper() for m in response.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}


def test_counts_head_and_options(api):
    head = api.head("/counts")
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("application/json")
    options = api.options("/counts")
    assert options.status_code == 204
    assert {m.strip().upper() for m in options.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
