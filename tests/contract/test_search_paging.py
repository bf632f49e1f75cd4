"""GET /tasks search (q) and paging (limit, cursor) (v2-spec §3). Lists are scoped with a unique context."""

import uuid

import pytest


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [t["id"] for t in response.json()["tasks"]]


def _page(api, params: dict) -> tuple[list[str], str | None]:
    response = api.get("/tasks", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [t["id"] for t in body["tasks"]], body["next_cursor"]


def _all_pages(api, params: dict, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, "limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        ids, cursor = _page(api, query)
        pages.append(ids)
        if cursor is None:
            return pages
        assert len(pages) < 100, "paging does not end"


def _search(api, context: str, q: str) -> list[str]:
    return _ids(api.get("/tasks", params={"context": context, "q": q}))


# -- q -----------------------------------------------------------------------


def test_q_matches_a_substring_of_the_title(api, unique_context):
    task = api.create_task(context=unique_context, title="call the plumber")
    api.create_task(context=unique_context, title="buy milk")
    assert _search(api, unique_context, "plumb") == [task["id"]]


def test_q_matches_a_substring_of_the_notes(api, unique_context):
    task = api.create_task(context=unique_context, title="t", notes="ask about\nthe leak")
    api.create_task(context=unique_context, title="other")
    assert _search(api, unique_context, "the leak") == [task["id"]]


def test_q_folds_ascii_case(api, unique_context):
    task = api.create_task(context=unique_context, title="Buy MILK today")
    assert _search(api, unique_context, "milk") == [task["id"]]
    assert _search(api, unique_context, "bUY mIlK") == [task["id"]]


def test_q_does_not_fold_non_ascii_letters(api, unique_context):
    task = api.create_task(context=unique_context, title="Ärger mit Éclair")
    assert _search(api, unique_context, "ärger") == []
    assert _search(api, unique_context, "éclair") == []
    assert _search(api, unique_context, "Ärger") == [task["id"]]
    assert _search(api, unique_context, "rGER MIT É") == [task["id"]]


@pytest.mark.parametrize(
    ("title", "q", "matches"),
    [
        ("100% sure", "0% s", True),
        ("abc", "a%c", False),
        ("a%c", "a%c", True),
        ("a_c", "a_c", True),
        ("abc", "a_c", False),
        ("a\\c", "a\\c", True),
        ("ac", "a\\c", False),
        ("a\\%c", "\\%", True),
        ("a%c", "\\%", False),
    ],
)
def test_q_wildcard_characters_are_literal(api, unique_context, title, q, matches):
    task = api.create_task(context=unique_context, title=title)
    assert _search(api, unique_context, q) == ([task["id"]] if matches else [])


def test_q_of_200_code_points_is_accepted(api, unique_context):
    title = "🙂" * 200
    task = api.create_task(context=unique_context, title=title)
    assert _search(api, unique_context, title) == [task["id"]]


@pytest.mark.parametrize("q", ["x" * 201, "🙂" * 201, ""])
def test_q_empty_or_over_200_is_422(api, q):
    response = api.get("/tasks", params={"q": q})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "q"


def test_q_combines_with_other_filters(api, unique_context):
    api.create_task(context=unique_context, title="report draft", status="inbox")
    wanted = api.create_task(context=unique_context, title="report final", status="next")
    api.create_task(context=unique_context, title="other", status="next")
    params = {"context": unique_context, "q": "REPORT", "status": "next"}
    assert _ids(api.get("/tasks", params=params)) == [wanted["id"]]


# -- limit and cursor ----------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "501", "01", "+5", "-1", "5.0", " 5", "five", "", "1e2"])
def test_invalid_limit_is_422(api, limit):
    response = api.get("/tasks", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "limit"


@pytest.mark.parametrize("limit", [1, 500])
def test_limit_bounds_are_accepted(api, unique_context, limit):
    created = [api.create_task(context=unique_context)["id"] for _ in range(2)]
    ids, cursor = _page(api, {"context": unique_context, "limit": str(limit)})
    assert ids == created[::-1][:limit]
    assert (cursor is None) == (limit >= 2)


@pytest.mark.parametrize("cursor", ["", "not a cursor", "!!!", "0"])
def test_invalid_cursor_is_422(api, cursor):
    response = api.get("/tasks", params={"limit": "2", "cursor": cursor})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


def test_without_limit_next_cursor_is_null(api, unique_context):
    for _ in range(3):
        api.create_task(context=unique_context)
    assert _page(api, {"context": unique_context})[1] is None


def test_paging_through_gives_the_whole_list_in_order(api, unique_context):
    for i in range(7):
        api.create_task(context=unique_context, title=f"t{i}")
    whole = _ids(api.get("/tasks", params={"context": unique_context}))
    pages = _all_pages(api, {"context": unique_context}, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == whole


def test_next_cursor_is_null_when_the_last_page_is_exactly_full(api, unique_context):
    for _ in range(4):
        api.create_task(context=unique_context)
    pages = _all_pages(api, {"context": unique_context}, 2)
    assert [len(p) for p in pages] == [2, 2]


def test_next_cursor_is_null_on_an_empty_list(api, unique_context):
    assert _page(api, {"context": unique_context, "limit": "5"}) == ([], None)


def test_paging_the_unfiltered_list_starts_with_the_newest(api):
    older = api.create_task()
    newest = api.create_task()
    ids, cursor = _page(api, {"limit": "1"})
    assert ids == [newest["id"]]
    assert cursor is not None
    assert _page(api, {"limit": "1", "cursor": cursor})[0] == [older["id"]]


def test_cursor_is_stable_when_newer_tasks_are_created(api, unique_context):
    old = [api.create_task(context=unique_context)["id"] for _ in range(5)][::-1]
    first, cursor = _page(api, {"context": unique_context, "limit": "2"})
    for _ in range(3):
        api.create_task(context=unique_context)
    rest = [i for p in _all_pages_from(api, {"context": unique_context}, 2, cursor) for i in p]
    assert first + rest == old


def test_cursor_is_stable_when_tasks_are_deleted(api, unique_context):
    old = [api.create_task(context=unique_context)["id"] for _ in range(6)][::-1]
    first, cursor = _page(api, {"context": unique_context, "limit": "2"})
    # Delete the cursor's own item and one not yet seen: the next page continues after the cursor.
    for gone in (first[-1], old[3]):
        assert api.delete(f"/tasks/{gone}").status_code == 204
    rest = [i for p in _all_pages_from(api, {"context": unique_context}, 2, cursor) for i in p]
    assert rest == [old[2], old[4], old[5]]


def test_cursor_applies_this_requests_filters(api, unique_context):
    created = [api.create_task(context=unique_context, status=s)["id"] for s in ("next", "inbox", "next", "next")]
    first, cursor = _page(api, {"context": unique_context, "limit": "1"})
    assert first == [created[3]]
    ids, _ = _page(api, {"context": unique_context, "status": "next", "limit": "10", "cursor": cursor})
    assert ids == [created[2], created[0]]


def test_paging_combines_with_filters_and_search(api, unique_context):
    wanted = []
    for i in range(7):
        task = api.create_task(context=unique_context, title=f"{'Match' if i % 2 else 'skip'} {i}", status="next")
        if i % 2:
            wanted.append(task["id"])
    pages = _all_pages(api, {"context": unique_context, "q": "match", "status": "next"}, 2)
    assert [i for p in pages for i in p] == wanted[::-1]
    assert [len(p) for p in pages] == [2, 1]


def test_a_task_id_is_not_a_cursor(api):
    # A cursor is opaque; a client cannot build one from an id.
    task = api.create_task()
    response = api.get("/tasks", params={"limit": "1", "cursor": task["id"] + "-" + uuid.uuid4().hex})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"


def _all_pages_from(api, params: dict, limit: int, cursor: str | None) -> list[list[str]]:
    pages: list[list[str]] = []
    while cursor is not None:
        ids, cursor = _page(api, {**params, "limit": str(limit), "cursor": cursor})
        pages.append(ids)
        assert len(pages) < 100, "paging does not end"
    return pages
