"""Dependencies (v2-spec §1): blocked_by validation, the computed blocked flag, deleting a blocker."""

import uuid

import pytest

MISSING = "00000000-0000-4000-8000-000000000000"


def _error_field(response) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["field"]


def _patch(api, task: dict, body: dict) -> dict:
    response = api.patch(f"/tasks/{task['id']}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_blocked_by_defaults_to_an_empty_array(api):
    task = api.create_task()
    assert (task["blocked_by"], task["blocked"]) == ([], False)


def test_blocked_by_is_served_sorted_and_lowercase(api):
    blockers = [api.create_task()["id"] for _ in range(4)]
    task = api.create_task(blocked_by=[b.upper() for b in reversed(blockers)])
    assert task["blocked_by"] == sorted(blockers)
    assert api.get(f"/tasks/{task['id']}").json()["blocked_by"] == sorted(blockers)


def test_open_blocker_blocks(api):
    blocker = api.create_task()
    assert api.create_task(blocked_by=[blocker["id"]])["blocked"] is True


def test_done_blocker_does_not_block(api):
    blocker = api.create_task(status="done")
    assert api.create_task(blocked_by=[blocker["id"]])["blocked"] is False


def test_one_open_blocker_among_done_ones_blocks(api):
    done = api.create_task(status="done")
    open_ = api.create_task()
    assert api.create_task(blocked_by=[done["id"], open_["id"]])["blocked"] is True


def test_done_task_is_not_blocked(api):
    blocker = api.create_task()
    assert api.create_task(status="done", blocked_by=[blocker["id"]])["blocked"] is False


def test_completing_the_blocker_unblocks_without_touching_the_blocked_task(api):
    blocker = api.create_task()
    task = api.create_task(blocked_by=[blocker["id"]])
    _patch(api, blocker, {"status": "done"})
    after = api.get(f"/tasks/{task['id']}").json()
    assert after["blocked"] is False
    assert after["updated_at"] == task["updated_at"]
    assert after["blocked_by"] == [blocker["id"]]


def test_reopening_the_blocker_blocks_again(api):
    blocker = api.create_task(status="done")
    task = api.create_task(blocked_by=[blocker["id"]])
    _patch(api, blocker, {"status": "next"})
    assert api.get(f"/tasks/{task['id']}").json()["blocked"] is True


def test_patch_replaces_blocked_by_and_empty_array_clears_it(api):
    first, second = api.create_task(), api.create_task()
    task = api.create_task(blocked_by=[first["id"]])
    replaced = _patch(api, task, {"blocked_by": [second["id"]]})
    assert replaced["blocked_by"] == [second["id"]]
    assert replaced["updated_at"] >= task["updated_at"]
    cleared = _patch(api, replaced, {"blocked_by": []})
    assert (cleared["blocked_by"], cleared["blocked"]) == ([], False)


def test_deleting_a_blocker_removes_it_without_changing_updated_at(api):
    gone, kept = api.create_task(), api.create_task()
    task = api.create_task(blocked_by=[gone["id"], kept["id"]])
    assert api.delete(f"/tasks/{gone['id']}").status_code == 204
    after = api.get(f"/tasks/{task['id']}").json()
    assert after["blocked_by"] == [kept["id"]]
    assert after["updated_at"] == task["updated_at"]


def test_deleting_the_last_blocker_unblocks(api):
    blocker = api.create_task()
    task = api.create_task(blocked_by=[blocker["id"]])
    api.delete(f"/tasks/{blocker['id']}")
    after = api.get(f"/tasks/{task['id']}").json()
    assert (after["blocked_by"], after["blocked"]) == ([], False)


def test_deleting_a_blocked_task_leaves_its_blocker(api):
    blocker = api.create_task()
    task = api.create_task(blocked_by=[blocker["id"]])
    assert api.delete(f"/tasks/{task['id']}").status_code == 204
    assert api.get(f"/tasks/{blocker['id']}").json() == blocker


def test_unknown_blocker_is_422(api):
    assert _error_field(api.post("/tasks", json={"title": "t", "blocked_by": [MISSING]})) == "blocked_by"


def test_deleted_blocker_is_422(api):
    gone = api.create_task()
    api.delete(f"/tasks/{gone['id']}")
    assert _error_field(api.post("/tasks", json={"title": "t", "blocked_by": [gone["id"]]})) == "blocked_by"


def test_task_cannot_block_itself(api):
    task = api.create_task()
    assert _error_field(api.patch(f"/tasks/{task['id']}", json={"blocked_by": [task["id"]]})) == "blocked_by"
    assert api.get(f"/tasks/{task['id']}").json() == task


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_duplicate_blocker_is_422(api, case):
    blocker = api.create_task()
    body = {"title": "t", "blocked_by": [blocker["id"], case(blocker["id"])]}
    assert _error_field(api.post("/tasks", json=body)) == "blocked_by"


def test_one_hundred_blockers_are_accepted(api):
    blockers = [api.create_task()["id"] for _ in range(101)]
    task = api.create_task(blocked_by=blockers[:100])
    assert task["blocked_by"] == sorted(blockers[:100])
    response = api.patch(f"/tasks/{task['id']}", json={"blocked_by": blockers})
    assert _error_field(response) == "blocked_by"


def test_direct_cycle_is_422(api):
    a = api.create_task()
    b = api.create_task(blocked_by=[a["id"]])
    assert _error_field(api.patch(f"/tasks/{a['id']}", json={"blocked_by": [b["id"]]})) == "blocked_by"
    assert api.get(f"/tasks/{a['id']}").json() == a


def test_indirect_cycle_is_422(api):
    a = api.create_task()
    b = api.create_task(blocked_by=[a["id"]])
    c = api.create_task(blocked_by=[b["id"]])
    d = api.create_task(blocked_by=[c["id"]])
    assert _error_field(api.patch(f"/tasks/{a['id']}", json={"blocked_by": [d["id"]]})) == "blocked_by"


def test_cycle_through_done_tasks_is_still_422(api):
    a = api.create_task(status="done")
    b = api.create_task(status="done", blocked_by=[a["id"]])
    assert _error_field(api.patch(f"/tasks/{a['id']}", json={"blocked_by": [b["id"]]})) == "blocked_by"


def test_shared_blockers_are_not_a_cycle(api):
    root = api.create_task()
    left = api.create_task(blocked_by=[root["id"]])
    right = api.create_task(blocked_by=[root["id"]])
    top = api.create_task(blocked_by=[left["id"], right["id"], root["id"]])
    assert top["blocked"] is True


def test_project_id_is_checked_before_blocked_by(api):
    body = {"title": "t", "project_id": str(uuid.uuid4()), "blocked_by": [MISSING]}
    assert _error_field(api.post("/tasks", json=body)) == "project_id"


def test_v1_field_checks_come_before_blocked_by(api):
    body = {"title": "t", "status": "nope", "blocked_by": [MISSING]}
    assert _error_field(api.post("/tasks", json=body)) == "status"


def test_rejected_blocked_by_changes_nothing(api):
    blocker = api.create_task()
    task = api.create_task(blocked_by=[blocker["id"]])
    response = api.patch(f"/tasks/{task['id']}", json={"title": "new", "blocked_by": [MISSING]})
    assert _error_field(response) == "blocked_by"
    assert api.get(f"/tasks/{task['id']}").json() == task
