"""Projects v2 (v2-spec §6): reviewed_on, task_counts, paging."""

import pytest

from .conftest import assert_created_field_round_trips, assert_patch_sets_and_null_clears

FUTURE = "2999-01-01"


def _counts(api, project: dict) -> dict:
    response = api.get(f"/projects/{project['id']}")
    assert response.status_code == 200
    return response.json()["task_counts"]


def _page(api, params: dict) -> tuple[list[str], str | None]:
    response = api.get("/projects", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [p["id"] for p in body["projects"]], body["next_cursor"]


def test_reviewed_on_round_trips_on_create(api):
    assert_created_field_round_trips(api, "projects", "reviewed_on", "2026-12-06")


def test_patch_marks_reviewed_and_null_clears(api):
    project, marked = assert_patch_sets_and_null_clears(api, "projects", "reviewed_on", "2026-12-06")
    assert marked["updated_at"] >= project["updated_at"]


@pytest.mark.parametrize("value", ["2026-02-30", "06.12.2026", "", 20261206, "2026-12-06T00:00:00Z"])
def test_invalid_reviewed_on_is_422(api, value):
    response = api.post("/projects", json={"name": "p", "reviewed_on": value})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reviewed_on"


@pytest.mark.parametrize("method", ["post", "patch"])
def test_task_counts_in_a_body_is_422(api, method):
    body = {"name": "p", "task_counts": {"open": 0, "done": 0, "next": 0}}
    if method == "post":
        response = api.post("/projects", json=body)
    else:
        response = api.patch(f"/projects/{api.create_project()['id']}", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "task_counts"


def test_task_counts_count_open_done_and_next(api):
    project = api.create_project()
    pid = project["id"]
    for status in ("next", "next", "inbox", "waiting", "done", "done"):
        api.create_task(project_id=pid, status=status)
    api.create_task(project_id=pid, status="next", defer_until=FUTURE)
    api.create_task(status="next")
    assert _counts(api, project) == {"open": 5, "done": 2, "next": 3}


def test_task_counts_are_in_every_project_answer(api):
    project = api.create_project()
    api.create_task(project_id=project["id"], status="next")
    expected = {"open": 1, "done": 0, "next": 1}
    assert api.get(f"/projects/{project['id']}").json()["task_counts"] == expected
    listed = [p for p in api.get("/projects").json()["projects"] if p["id"] == project["id"]]
    assert [p["task_counts"] for p in listed] == [expected]
    patched = api.patch(f"/projects/{project['id']}", json={"name": "renamed"}).json()
    assert patched["task_counts"] == expected


def test_task_counts_follow_task_changes(api):
    project, other = api.create_project(), api.create_project()
    task = api.create_task(project_id=project["id"], status="next")
    api.patch(f"/tasks/{task['id']}", json={"status": "done"})
    assert _counts(api, project) == {"open": 0, "done": 1, "next": 0}
    api.patch(f"/tasks/{task['id']}", json={"project_id": other["id"]})
    assert _counts(api, project) == {"open": 0, "done": 0, "next": 0}
    assert _counts(api, other) == {"open": 0, "done": 1, "next": 0}
    api.delete(f"/tasks/{task['id']}")
    assert _counts(api, other) == {"open": 0, "done": 0, "next": 0}


def test_paging_projects_gives_the_whole_list(api):
    for _ in range(5):
        api.create_project()
    whole = _page(api, {})[0]
    # Pages of about a quarter of the list (at least 3 pages, whatever the shared store holds):
    # a fixed small page would cost a request per couple of projects the whole session made.
    limit = min(500, max(2, len(whole) // 4))
    paged: list[str] = []
    pages = 0
    cursor: str | None = None
    while True:
        ids, cursor = _page(api, {"limit": str(limit)} | ({"cursor": cursor} if cursor else {}))
        paged += ids
        pages += 1
        if cursor is None:
            break
        assert len(paged) <= len(whole), "paging does not end"
    assert pages >= 3
    assert paged == whole


def test_paging_projects_combines_with_status(api):
    created = [api.create_project(status="someday")["id"] for _ in range(3)]
    first, cursor = _page(api, {"status": "someday", "limit": "2"})
    assert first == created[::-1][:2]
    assert cursor is not None
    second, _ = _page(api, {"status": "someday", "limit": "1", "cursor": cursor})
    assert second == [created[0]]


def test_project_cursor_is_stable_when_projects_are_created(api):
    created = [api.create_project()["id"] for _ in range(3)]
    first, cursor = _page(api, {"limit": "2"})
    assert first == created[::-1][:2]
    api.create_project()
    second, _ = _page(api, {"limit": "1", "cursor": cursor})
    assert second == [created[0]]


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=501", "limit"), ("cursor=nope", "cursor")])
def test_invalid_project_paging_is_422(api, query, field):
    response = api.get(f"/projects?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_today_is_accepted_on_projects_and_changes_nothing(api):
    project = api.create_project()
    api.create_task(project_id=project["id"], status="next", defer_until="2030-06-15")
    plain = api.get(f"/projects/{project['id']}").json()
    for today in ("2030-06-14", "2030-06-16"):
        assert api.get(f"/projects/{project['id']}", params={"today": today}).json() == plain
