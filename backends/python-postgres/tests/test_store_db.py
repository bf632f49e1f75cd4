"""The Store's v2 queries on a real PostgreSQL: what needs the database to be checked
(transactions, concurrency, keyset paging, the merge of an import)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from gtd_pg.errors import ApiError
from gtd_pg.migrate import migrate
from gtd_pg.store import Store
from gtd_pg.transfer import parse_document

TODAY = "2026-12-05"


class Clock:
    """A settable clock: each call is one millisecond after the last (distinct timestamps)."""

    def __init__(self) -> None:
        self.ticks = itertools.count()

    def __call__(self) -> str:
        n = next(self.ticks)
        return f"2026-12-05T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z"


@pytest.fixture
async def store(database_url) -> AsyncIterator[Store]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield Store(pool, now=Clock())
    await pool.close()


async def create(store: Store, **fields) -> dict:
    return await store.create_task({"title": "t", **fields})


def field_of(excinfo) -> str | None:
    err = excinfo.value
    assert isinstance(err, ApiError) and err.status == 422
    return err.field


# -- tasks -----------------------------------------------------------------------------------


async def test_creating_a_done_task_sets_completed_at_to_its_creation_time(store):
    task = await create(store, status="done")
    assert task["completed_at"] == task["created_at"]


async def test_reopening_a_done_task_clears_completed_at(store):
    task = await create(store, status="done")
    reopened, _ = await store.update_task(task["id"], {"status": "next"}, TODAY)
    assert reopened["completed_at"] is None


async def test_a_patch_that_keeps_a_task_done_keeps_completed_at(store):
    task = await create(store, status="done")
    patched, _ = await store.update_task(task["id"], {"title": "renamed"}, TODAY)
    assert patched["completed_at"] == task["completed_at"]


async def test_blocked_by_is_served_sorted_and_blocked_follows_the_blockers(store):
    blockers = [await create(store) for _ in range(3)]
    ids = sorted(b["id"] for b in blockers)
    task = await create(store, blocked_by=list(reversed(ids)))
    assert task["blocked_by"] == ids and task["blocked"] is True
    for blocker in blockers:
        await store.update_task(blocker["id"], {"status": "done"}, TODAY)
    after = await store.get_task(task["id"])
    assert after["blocked"] is False and after["updated_at"] == task["updated_at"]


async def test_deleting_a_blocker_removes_it_without_touching_the_blocked_task(store):
    blocker = await create(store)
    task = await create(store, blocked_by=[blocker["id"]])
    await store.delete_task(blocker["id"])
    after = await store.get_task(task["id"])
    assert after["blocked_by"] == [] and after["updated_at"] == task["updated_at"]


async def test_project_existence_is_checked_before_blocked_by(store):
    with pytest.raises(ApiError) as excinfo:
        await create(store, project_id=str(uuid.uuid4()), blocked_by=[str(uuid.uuid4())])
    assert field_of(excinfo) == "project_id"


async def test_an_unknown_blocker_is_refused(store):
    with pytest.raises(ApiError) as excinfo:
        await create(store, blocked_by=[str(uuid.uuid4())])
    assert field_of(excinfo) == "blocked_by"


async def test_a_cycle_through_other_tasks_is_refused(store):
    a = await create(store)
    b = await create(store, blocked_by=[a["id"]])
    c = await create(store, blocked_by=[b["id"]])
    with pytest.raises(ApiError) as excinfo:
        await store.update_task(a["id"], {"blocked_by": [c["id"]]}, TODAY)
    assert field_of(excinfo) == "blocked_by"


async def test_concurrent_patches_cannot_close_a_cycle_together(store):
    a, b = await create(store), await create(store)
    results = await asyncio.gather(
        store.update_task(a["id"], {"blocked_by": [b["id"]]}, TODAY),
        store.update_task(b["id"], {"blocked_by": [a["id"]]}, TODAY),
        return_exceptions=True,
    )
    assert sum(isinstance(r, ApiError) for r in results) == 1, results


# -- recurring ---------------------------------------------------------------------------------


async def occurrence(store: Store, task: dict, fields: dict | None = None, today: str = TODAY) -> dict:
    _, next_id = await store.update_task(task["id"], {"status": "done", **(fields or {})}, today)
    assert next_id is not None
    created = await store.get_task(next_id)
    assert created is not None
    return created


async def test_the_next_occurrence_copies_the_task_with_its_previous_status(store):
    task = await create(
        store, status="waiting", notes="n", context="@home", repeat={"rule": "FREQ=DAILY", "from": "due"}
    )
    nxt = await occurrence(store, task)
    assert {k: nxt[k] for k in ("title", "notes", "status", "context", "repeat", "blocked_by", "completed_at")} == {
        "title": "t",
        "notes": "n",
        "status": "waiting",
        "context": "@home",
        "repeat": {"rule": "FREQ=DAILY", "from": "due"},
        "blocked_by": [],
        "completed_at": None,
    }


async def test_the_next_occurrence_keeps_the_lead_time_between_defer_and_due(store):
    task = await create(
        store, due_date="2026-01-31", defer_until="2026-01-29", repeat={"rule": "FREQ=MONTHLY", "from": "due"}
    )
    nxt = await occurrence(store, task)
    assert (nxt["due_date"], nxt["defer_until"]) == ("2026-02-28", "2026-02-26")


async def test_without_a_due_date_the_next_occurrence_is_deferred_to_the_next_date(store):
    task = await create(store, defer_until="2026-12-01", repeat={"rule": "FREQ=WEEKLY", "from": "due"})
    nxt = await occurrence(store, task)
    assert (nxt["due_date"], nxt["defer_until"]) == (None, "2026-12-08")


async def test_from_completion_anchors_on_the_requests_today(store):
    task = await create(store, due_date="2026-01-01", repeat={"rule": "FREQ=DAILY;INTERVAL=2", "from": "completion"})
    nxt = await occurrence(store, task, today="2026-03-10")
    assert nxt["due_date"] == "2026-03-12"


async def test_the_completing_patchs_own_due_date_is_the_anchor(store):
    task = await create(store, due_date="2026-01-01", repeat={"rule": "FREQ=DAILY", "from": "due"})
    nxt = await occurrence(store, task, {"due_date": "2026-06-01"})
    assert nxt["due_date"] == "2026-06-02"


async def test_completing_an_already_done_task_creates_nothing(store):
    task = await create(store, repeat={"rule": "FREQ=DAILY", "from": "due"})
    await occurrence(store, task)
    _, next_id = await store.update_task(task["id"], {"status": "done"}, TODAY)
    assert next_id is None


async def test_a_created_done_task_creates_no_occurrence(store):
    await create(store, status="done", repeat={"rule": "FREQ=DAILY", "from": "due"})
    tasks, _ = await store.list_tasks({}, TODAY)
    assert len(tasks) == 1


async def test_concurrent_completions_create_one_occurrence(store):
    task = await create(store, repeat={"rule": "FREQ=DAILY", "from": "due"})
    results = await asyncio.gather(*(store.update_task(task["id"], {"status": "done"}, TODAY) for _ in range(3)))
    assert sum(next_id is not None for _, next_id in results) == 1


async def test_a_failed_occurrence_rolls_back_the_completion(store):
    task = await create(store, repeat={"rule": "FREQ=DAILY", "from": "due"})
    store.new_id = lambda: task["id"]  # the occurrence's INSERT now violates the unique id
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.update_task(task["id"], {"status": "done"}, TODAY)
    assert (await store.get_task(task["id"]))["status"] == "inbox"


# -- lists -------------------------------------------------------------------------------------


async def test_q_folds_ascii_letters_only(store):
    await create(store, title="Grüße an ÄRZTE")
    matches = {q: len((await store.list_tasks({"q": q}, TODAY))[0]) for q in ("GRÜSSE", "GRÜ", "gRü", "äRZTE", "ÄrZtE")}
    assert matches == {"GRÜSSE": 0, "GRÜ": 0, "gRü": 1, "äRZTE": 0, "ÄrZtE": 1}


async def test_q_treats_like_wildcards_as_characters(store):
    await create(store, title="100% done_now")
    await create(store, title="100 x done-now\\")
    found = {q: len((await store.list_tasks({"q": q}, TODAY))[0]) for q in ("0%", "e_n", "%", "_", "\\")}
    assert found == {"0%": 1, "e_n": 1, "%": 1, "_": 1, "\\": 1}


async def test_q_searches_notes_too(store):
    await create(store, title="a", notes="Call the BANK")
    assert len((await store.list_tasks({"q": "bank"}, TODAY))[0]) == 1


async def test_deferred_ends_on_the_defer_date_itself(store):
    await create(store, defer_until=TODAY)
    assert (await store.list_tasks({"deferred": True}, TODAY))[0] == []


async def test_the_false_filters_are_the_complements(store):
    blocker = await create(store)
    await create(store, blocked_by=[blocker["id"]])
    await create(store, defer_until="2027-01-01")
    await create(store, status="done", defer_until="2027-01-01")
    for name in ("deferred", "blocked", "available"):
        yes = {t["id"] for t in (await store.list_tasks({name: True}, TODAY))[0]}
        no = {t["id"] for t in (await store.list_tasks({name: False}, TODAY))[0]}
        assert not yes & no and len(yes | no) == 4, name


async def test_pages_follow_each_other_without_repeats_or_gaps_while_tasks_come_and_go(store):
    ids = [(await create(store))["id"] for _ in range(7)]  # oldest first
    first, cursor = await store.list_tasks({"limit": 3}, TODAY)
    assert [t["id"] for t in first] == ids[::-1][:3]
    await store.delete_task(first[-1]["id"])  # the cursor's own item
    await create(store)  # newer: never in a later page
    seen = [t["id"] for t in first]
    while cursor is not None:
        page, cursor = await store.list_tasks({"limit": 3, "cursor": decode(cursor)}, TODAY)
        seen += [t["id"] for t in page]
    assert seen == ids[::-1]


def decode(cursor: str):
    from gtd_pg.paging import decode_cursor

    position = decode_cursor(cursor)
    assert position is not None
    return position


async def test_the_last_full_page_has_no_next_cursor(store):
    for _ in range(4):
        await create(store)
    _, cursor = await store.list_tasks({"limit": 2}, TODAY)
    _, last = await store.list_tasks({"limit": 2, "cursor": decode(cursor)}, TODAY)
    assert last is None


async def test_counts_equal_the_list_lengths(store):
    project = await store.create_project({"name": "p", "status": "someday"})
    blocker = await create(store, status="next", project_id=project["id"])
    await create(store, status="next", blocked_by=[blocker["id"]])
    await create(store, status="waiting", defer_until="2027-01-01")
    await create(store, status="done")
    counts = await store.counts(TODAY)
    for status in ("inbox", "next", "waiting", "scheduled", "someday"):
        listed = (await store.list_tasks({"status": status, "deferred": False}, TODAY))[0]
        assert counts["tasks"][status] == len(listed), status
    for name in ("deferred", "blocked", "available"):
        assert counts["tasks"][name] == len((await store.list_tasks({name: True}, TODAY))[0]), name
    assert counts["tasks"]["done"] == 1 and counts["projects"] == {"active": 0, "someday": 1, "done": 0}


async def test_counts_map_each_open_context_as_spelled_to_its_open_tasks(store):
    await create(store, context="@home", status="next", defer_until="2027-01-01")
    await create(store, context="@home")
    await create(store, context="@HOME", status="waiting")
    await create(store, context="@home", status="done")
    await create(store, context="@office", status="done")
    await create(store)
    assert (await store.counts(TODAY))["contexts"] == {"@home": 2, "@HOME": 1}


async def test_counts_decode_an_escaped_context(store):
    await create(store, context="@a\x00b")
    assert (await store.counts(TODAY))["contexts"] == {"@a\x00b": 1}


async def test_counts_have_no_contexts_without_tasks(store):
    assert (await store.counts(TODAY))["contexts"] == {}


async def test_task_counts_count_open_done_and_next(store):
    project = await store.create_project({"name": "p"})
    for status in ("next", "next", "waiting", "done"):
        await create(store, status=status, project_id=project["id"])
    projects, _ = await store.list_projects({})
    assert projects[0]["task_counts"] == {"open": 3, "done": 1, "next": 2}


# -- export / import ---------------------------------------------------------------------------


async def test_export_then_import_into_an_empty_store_gives_the_same_export(store, database_url, pg):
    project = await store.create_project({"name": "p", "reviewed_on": TODAY})
    a = await create(store, project_id=project["id"], notes="a\x00b", repeat={"rule": "FREQ=DAILY", "from": "due"})
    await create(store, blocked_by=[a["id"]], status="done")
    exported = await store.export()
    other_url = database_url + "_copy"
    pg.psql(f'CREATE DATABASE "{other_url.rsplit("/", 1)[1]}" OWNER "{pg.user}" TEMPLATE template0')
    pool = await asyncpg.create_pool(other_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        other = Store(pool, now=Clock())
        await other.import_document(parse_document(exported))
        again = await other.export()
    finally:
        await pool.close()
    assert (again["projects"], again["tasks"]) == (exported["projects"], exported["tasks"])


async def test_reimporting_the_same_document_changes_nothing(store):
    await create(store)
    exported = await store.export()
    result = await store.import_document(parse_document(exported))
    assert result["tasks"] == {"created": 0, "updated": 0, "unchanged": 1}


async def test_an_import_replaces_only_items_updated_later(store):
    kept, replaced = await create(store, title="kept"), await create(store, title="replaced")
    document = await store.export()
    document["tasks"][0].update(title="older", updated_at="2000-01-01T00:00:00.000Z")
    document["tasks"][1].update(title="newer", updated_at="2099-01-01T00:00:00.000Z")
    result = await store.import_document(parse_document(document))
    titles = {(await store.get_task(t["id"]))["title"] for t in (kept, replaced)}
    assert result["tasks"] == {"created": 0, "updated": 1, "unchanged": 1} and titles == {"kept", "newer"}


async def test_an_import_that_closes_a_cycle_with_the_store_writes_nothing(store):
    a = await create(store)
    b = await create(store, blocked_by=[a["id"]])
    document = await store.export()
    new = {**document["tasks"][0], "id": str(uuid.uuid4()), "blocked_by": []}
    document["tasks"] = [
        new,
        {**document["tasks"][0], "blocked_by": [b["id"]], "updated_at": "2099-01-01T00:00:00.000Z"},
    ]
    with pytest.raises(ApiError) as excinfo:
        await store.import_document(parse_document(document))
    assert field_of(excinfo) == "tasks[1].blocked_by"
    assert await store.get_task(new["id"]) is None


async def test_an_import_of_ten_thousand_tasks_is_one_transaction(store):
    stamp = "2026-01-01T00:00:00.000Z"
    ids = [str(uuid.uuid4()) for _ in range(10_000)]
    tasks = [
        {"id": id, "title": f"t{i}", "status": "next", "created_at": stamp, "updated_at": stamp,
         "blocked_by": [ids[i - 1]] if i else []}
        for i, id in enumerate(ids)
    ]  # fmt: skip
    result = await store.import_document(parse_document({"version": 2, "projects": [], "tasks": tasks}))
    exported = await store.export()
    assert result["tasks"]["created"] == 10_000 and [t["id"] for t in exported["tasks"]] == ids
