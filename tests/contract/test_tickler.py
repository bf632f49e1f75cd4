"""Tickler and "today" (v2-spec §2): defer_until, the today parameter, deferred/blocked/available filters.

Each test scopes its lists with a unique context; dates are far from the real
clock (or given with ``today=``), so no test depends on when it runs.
"""

import pytest

from .conftest import assert_created_field_round_trips, assert_patch_sets_and_null_clears

FUTURE = "2999-01-01"
PAST = "2000-01-01"


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["tasks"]]


def test_defer_until_round_trips_on_create_and_get(api):
    assert_created_field_round_trips(api, "tasks", "defer_until", "2030-06-15")


def test_patch_sets_and_null_clears_defer_until(api):
    assert_patch_sets_and_null_clears(api, "tasks", "defer_until", "2030-06-15")


def test_task_is_deferred_before_its_day(api, unique_context):
    task = api.create_task(context=unique_context, defer_until="2030-06-15")
    params = {"context": unique_context, "today": "2030-06-14"}
    assert _ids(api.get("/tasks", params={**params, "deferred": "true"})) == [task["id"]]
    assert _ids(api.get("/tasks", params={**params, "deferred": "false"})) == []


def test_task_shows_up_by_itself_on_its_day(api, unique_context):
    task = api.create_task(context=unique_context, defer_until="2030-06-15")
    params = {"context": unique_context, "today": "2030-06-15"}
    assert _ids(api.get("/tasks", params={**params, "deferred": "true"})) == []
    assert _ids(api.get("/tasks", params={**params, "deferred": "false"})) == [task["id"]]
    assert _ids(api.get("/tasks", params={**params, "available": "true"})) == [task["id"]]


def test_showing_up_writes_nothing(api, unique_context):
    task = api.create_task(context=unique_context, defer_until="2030-06-15")
    api.get("/tasks", params={"context": unique_context, "today": "2030-07-01"})
    assert api.get(f"/tasks/{task['id']}", params={"today": "2030-07-01"}).json() == task


def test_without_today_the_backend_clock_decides(api, unique_context):
    future = api.create_task(context=unique_context, defer_until=FUTURE)
    api.create_task(context=unique_context, defer_until=PAST)
    assert _ids(api.get("/tasks", params={"context": unique_context, "deferred": "true"})) == [future["id"]]


def test_done_task_is_never_deferred(api, unique_context):
    done = api.create_task(context=unique_context, defer_until=FUTURE, status="done")
    params = {"context": unique_context}
    assert _ids(api.get("/tasks", params={**params, "deferred": "true"})) == []
    assert _ids(api.get("/tasks", params={**params, "deferred": "false"})) == [done["id"]]


def test_available_false_is_the_exact_complement(api, unique_context):
    blocker = api.create_task(context=unique_context)
    deferred = api.create_task(context=unique_context, defer_until=FUTURE)
    blocked = api.create_task(context=unique_context, blocked_by=[blocker["id"]])
    done = api.create_task(context=unique_context, status="done")
    params = {"context": unique_context}
    assert _ids(api.get("/tasks", params={**params, "available": "true"})) == [blocker["id"]]
    unavailable = _ids(api.get("/tasks", params={**params, "available": "false"}))
    assert unavailable == [done["id"], blocked["id"], deferred["id"]]


def test_blocked_filter_and_its_complement(api, unique_context):
    blocker = api.create_task(context=unique_context)
    blocked = api.create_task(context=unique_context, blocked_by=[blocker["id"]])
    params = {"context": unique_context}
    assert _ids(api.get("/tasks", params={**params, "blocked": "true"})) == [blocked["id"]]
    assert _ids(api.get("/tasks", params={**params, "blocked": "false"})) == [blocker["id"]]


def test_deferral_filters_combine_with_status(api, unique_context):
    api.create_task(context=unique_context, status="next", defer_until="2030-06-20")
    shown = api.create_task(context=unique_context, status="next", defer_until="2030-06-10")
    api.create_task(context=unique_context, status="waiting", defer_until="2030-06-10")
    params = {"context": unique_context, "status": "next", "deferred": "false", "today": "2030-06-15"}
    assert _ids(api.get("/tasks", params=params)) == [shown["id"]]


@pytest.mark.parametrize("name", ["deferred", "blocked", "available"])
@pytest.mark.parametrize("value", ["1", "TRUE", "yes", ""])
def test_boolean_filter_with_another_value_is_422(api, name, value):
    response = api.get(f"/tasks?{name}={value}")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == name


@pytest.mark.parametrize("value", ["2023-02-29", "2030-6-15", "tomorrow", "", "2030-06-15T00:00:00Z"])
@pytest.mark.parametrize("route", ["/tasks", "/counts", "/projects"])
def test_invalid_today_is_422(api, route, value):
    response = api.get(f"{route}?today={value}")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "today"


def test_invalid_today_on_a_single_task_is_422(api):
    task = api.create_task()
    for response in (
        api.get(f"/tasks/{task['id']}", params={"today": "2030-02-30"}),
        api.patch(f"/tasks/{task['id']}", params={"today": "2030-02-30"}, json={"title": "x"}),
    ):
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "today"
    assert api.get(f"/tasks/{task['id']}").json() == task


def test_invalid_today_on_a_single_project_is_422(api):
    project = api.create_project()
    response = api.get(f"/projects/{project['id']}", params={"today": "never"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "today"


def test_repeated_today_is_422(api):
    response = api.get("/tasks?today=2030-01-01&today=2030-01-02")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "today"


def test_valid_today_is_accepted_on_every_read(api):
    task = api.create_task()
    project = api.create_project()
    params = {"today": "2030-06-15"}
    assert api.get(f"/tasks/{task['id']}", params=params).json() == task
    assert api.get(f"/projects/{project['id']}", params=params).json() == project
    assert api.patch(f"/tasks/{task['id']}", params=params, json={"title": "t"}).status_code == 200


def test_today_on_export_is_an_unknown_parameter(api):
    response = api.get("/export", params={"today": "2030-06-15"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "today"
