"""completed_at (v2-spec §1): set when a task becomes done, cleared when it leaves done, read-only."""

import pytest


def _patch(api, task: dict, body: dict) -> dict:
    response = api.patch(f"/tasks/{task['id']}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_open_task_has_no_completed_at(api):
    assert api.create_task(status="next")["completed_at"] is None


def test_create_done_sets_completed_at_to_the_request_time(api):
    task = api.create_task(status="done")
    assert task["completed_at"] == task["updated_at"]


def test_patch_to_done_sets_completed_at_to_the_request_time(api):
    done = _patch(api, api.create_task(status="next"), {"status": "done"})
    assert done["completed_at"] == done["updated_at"]
    assert api.get(f"/tasks/{done['id']}").json()["completed_at"] == done["completed_at"]


def test_patch_keeping_done_leaves_completed_at_unchanged(api):
    task = api.create_task(status="done")
    renamed = _patch(api, task, {"title": "renamed"})
    assert renamed["completed_at"] == task["completed_at"]
    again = _patch(api, renamed, {"status": "done"})
    assert again["completed_at"] == task["completed_at"]


def test_leaving_done_clears_completed_at(api):
    task = api.create_task(status="done")
    assert _patch(api, task, {"status": "next"})["completed_at"] is None


def test_patch_keeping_open_leaves_completed_at_null(api):
    task = api.create_task(status="inbox")
    assert _patch(api, task, {"status": "waiting", "title": "t2"})["completed_at"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [({"completed_at": None}, "completed_at"), ({"blocked": False}, "blocked")],
)
def test_read_only_members_in_a_patch_are_422(api, body, field):
    task = api.create_task()
    response = api.patch(f"/tasks/{task['id']}", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
