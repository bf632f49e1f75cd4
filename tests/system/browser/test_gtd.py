"""The web app on GTD contract v2, in Chromium: frontend → gateway (twin) → bun-sqlite and cf-d1.

One behaviour per test, each on the session's stack (tests/system/browser/conftest.py). The flows whose
requests the gateway could change (the sidebar's /counts, paging, export, import, copy to another
backend) take the ``app`` fixture and so run through the twin and through the Worker on workerd. Data is shared
by the session, so every test makes its own titles, contexts and projects with a unique suffix,
and arranges what it needs through the gateway (``gtd_stack.api``). "today" is the browser's
local date (the app sends it with every call), read from the page.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .conftest import App, Frontend, Stack

AXE = Path(__file__).resolve().parents[3] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PAGE_SIZE = 50


def uid() -> str:
    return uuid.uuid4().hex[:8]


def use_backend(page: Page, backend: str) -> None:
    button = page.locator(f"button.backend[data-backend='{backend}']")
    if button.get_attribute("aria-pressed") != "true":
        with page.expect_response(lambda r: r.request.method == "POST"):
            button.click()
    expect(button).to_have_attribute("aria-pressed", "true")


def open_on(page: Page, path: str, backend: str = "bun-sqlite") -> None:
    """``path`` on ``backend`` (the choice is a cookie: chosen once, then the page is loaded again)."""
    page.goto("/")
    use_backend(page, backend)
    page.goto(path)


def row(page: Page, title: str) -> Locator:
    return page.locator(f"li.task[data-task-id][data-title='{title}']")


def local_today(page: Page) -> date:
    return date.fromisoformat(page.evaluate("new Date().toLocaleDateString('en-CA')"))


def create_task(stack: Stack, backend: str = "bun-sqlite", **body: Any) -> dict[str, Any]:
    with stack.api(backend) as api:
        response = api.post("/tasks", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_project(stack: Stack, name: str, backend: str = "bun-sqlite") -> dict[str, Any]:
    with stack.api(backend) as api:
        response = api.post("/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return dict(response.json())


def get_task(stack: Stack, task_id: str, backend: str = "bun-sqlite") -> httpx.Response:
    with stack.api(backend) as api:
        return api.get(f"/tasks/{task_id}")


def lists(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Lists")


# -- 1. data layer -----------------------------------------------------------------------


def test_sidebar_shows_the_backends_counts(app: App, gtd_stack: Stack) -> None:
    page = app.page
    create_task(gtd_stack, title=f"Counted {uid()}", status="waiting")
    open_on(page, "/lists/waiting")
    today = local_today(page).isoformat()
    with gtd_stack.api("bun-sqlite") as api:
        counts = api.get("/counts", params={"today": today}).json()
    for status in ("inbox", "next", "waiting", "scheduled", "someday", "done"):
        expect(page.get_by_test_id(f"count-{status}")).to_contain_text(str(counts["tasks"][status]))
    expect(page.get_by_test_id("count-tickler")).to_contain_text(str(counts["tasks"]["deferred"]))
    expect(page.get_by_test_id("count-projects")).to_contain_text(str(counts["projects"]["active"]))


def test_a_list_shows_one_page_and_show_more_loads_the_next(app: App, gtd_stack: Stack) -> None:
    page = app.page
    context = f"@paged-{uid()}"
    titles = [f"Paged {n:02d} {uid()}" for n in range(PAGE_SIZE + 5)]
    for title in titles:
        create_task(gtd_stack, title=title, status="someday", context=context)
    open_on(page, f"/lists/someday?context={context.replace('@', '%40')}")
    expect(page.locator("li.task[data-task-id]")).to_have_count(PAGE_SIZE)
    # Newest first: the first page is the last 50 created.
    expect(row(page, titles[-1])).to_be_visible()
    expect(row(page, titles[0])).to_have_count(0)
    page.get_by_test_id("show-more").click()
    expect(page.locator("li.task[data-task-id]")).to_have_count(PAGE_SIZE + 5)
    expect(row(page, titles[0])).to_be_visible()
    expect(page.get_by_test_id("show-more")).to_have_count(0)


# -- 2. tickler ---------------------------------------------------------------------------


def test_a_deferred_task_leaves_its_list_for_the_tickler(page: Page, gtd_stack: Stack) -> None:
    title = f"Renew passport {uid()}"
    open_on(page, "/lists/next")
    later = (local_today(page) + timedelta(days=3)).isoformat()
    create_task(gtd_stack, title=title, status="next", defer_until=later)
    page.reload()
    expect(page.get_by_role("heading", name="Next")).to_be_visible()
    expect(row(page, title)).to_have_count(0)
    lists(page).get_by_role("link", name=re.compile("^Tickler")).click()
    expect(page.get_by_role("heading", name="Tickler")).to_be_visible()
    expect(row(page, title).get_by_test_id("deferred-until")).to_contain_text(later)


def test_the_tickler_is_sorted_by_date(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    open_on(page, "/tickler")
    today = local_today(page)
    # Created in the opposite order of their dates: the list order is the dates'.
    for days in (9, 5, 7):
        create_task(gtd_stack, title=f"Tickle {days} {suffix}", defer_until=(today + timedelta(days=days)).isoformat())
    page.goto(f"/tickler?q={suffix}")
    expect(page.locator("li.task[data-task-id]")).to_have_count(3)
    assert page.locator("li.task[data-task-id]").evaluate_all("rows => rows.map(r => r.dataset.title)") == [
        f"Tickle 5 {suffix}",
        f"Tickle 7 {suffix}",
        f"Tickle 9 {suffix}",
    ]


def test_a_task_shows_up_in_its_list_on_its_defer_day_in_the_users_time_zone(
    browser: Browser, base_url: str, gtd_stack: Stack
) -> None:
    # Kiritimati is UTC+14: for most of the UTC day its date is already tomorrow's.
    context = browser.new_context(base_url=base_url, timezone_id="Pacific/Kiritimati")
    try:
        page = context.new_page()
        title = f"Due to show {uid()}"
        open_on(page, "/lists/next")
        create_task(gtd_stack, title=title, status="next", defer_until=local_today(page).isoformat())
        page.reload()
        expect(row(page, title)).to_be_visible()
    finally:
        context.close()


def test_the_edit_form_sets_a_defer_date(page: Page, gtd_stack: Stack) -> None:
    task = create_task(gtd_stack, title=f"Defer me {uid()}", status="next")
    open_on(page, f"/tasks/{task['id']}")
    later = (local_today(page) + timedelta(days=10)).isoformat()
    page.get_by_label("Defer until").fill(later)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_contain_text("Saved.")
    assert get_task(gtd_stack, task["id"]).json()["defer_until"] == later


def test_capture_syntax_files_context_project_and_dates(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    project = create_project(gtd_stack, f"Garden {suffix}")
    open_on(page, "/")
    today = local_today(page)
    due, defer = (today + timedelta(days=20)).isoformat(), (today + timedelta(days=2)).isoformat()
    box = page.get_by_label("Capture to inbox")
    box.fill(f"Plant bulbs @yard-{suffix} +GARDEN-{suffix} due:{due} defer:{defer}")
    box.press("Enter")
    expect(page.get_by_test_id("notice")).to_contain_text("Captured “Plant bulbs”")
    with gtd_stack.api("bun-sqlite") as api:
        found = api.get("/tasks", params={"q": "Plant bulbs", "context": f"@yard-{suffix}"}).json()["tasks"]
    assert [(t["title"], t["project_id"], t["due_date"], t["defer_until"]) for t in found] == [
        ("Plant bulbs", project["id"], due, defer)
    ]


def test_capture_with_an_unknown_project_keeps_the_word_in_the_title(page: Page, gtd_stack: Stack) -> None:
    word = f"nosuch{uid()}"
    open_on(page, "/")
    box = page.get_by_label("Capture to inbox")
    box.fill(f"Ask about +{word}")
    box.press("Enter")
    expect(page.get_by_test_id("capture-hint")).to_contain_text(f"No project named “{word}”")
    expect(row(page, f"Ask about +{word}")).to_be_visible()


# -- 3. recurring -------------------------------------------------------------------------


def test_the_repeat_picker_saves_a_rule_and_the_row_shows_a_repeat_mark(page: Page, gtd_stack: Stack) -> None:
    title = f"Water plants {uid()}"
    task = create_task(gtd_stack, title=title, status="next")
    open_on(page, f"/tasks/{task['id']}")
    page.get_by_label("Repeat unit").select_option("WEEKLY")
    page.get_by_label("Every").fill("2")
    page.get_by_label("Mon").check()
    page.get_by_label("Fri").check()
    page.get_by_label("from completion").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("repeat-summary")).to_contain_text("every 2 weeks on Mon, Fri, from completion")
    assert get_task(gtd_stack, task["id"]).json()["repeat"] == {
        "rule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
        "from": "completion",
    }
    page.goto("/lists/next")
    expect(row(page, title).get_by_test_id("repeat-mark")).to_contain_text("Repeats")


def test_completing_a_recurring_task_links_its_next_occurrence(page: Page, gtd_stack: Stack) -> None:
    title = f"Pay rent {uid()}"
    open_on(page, "/lists/next")
    due = local_today(page)
    create_task(
        gtd_stack, title=title, status="next", due_date=due.isoformat(), repeat={"rule": "FREQ=DAILY", "from": "due"}
    )
    page.reload()
    row(page, title).get_by_role("button", name=f"Complete “{title}”").click()
    link = page.get_by_test_id("next-occurrence")
    expect(link).to_be_visible()
    link.click()
    expect(page.get_by_label("Title")).to_have_value(title)
    expect(page.get_by_label("Due date", exact=True)).to_have_value((due + timedelta(days=1)).isoformat())


def test_undoing_a_recurring_completion_deletes_the_occurrence(page: Page, gtd_stack: Stack) -> None:
    title = f"Take pills {uid()}"
    open_on(page, "/lists/next")
    task = create_task(
        gtd_stack,
        title=title,
        status="next",
        due_date=local_today(page).isoformat(),
        repeat={"rule": "FREQ=DAILY", "from": "due"},
    )
    page.reload()
    row(page, title).get_by_role("button", name=f"Complete “{title}”").click()
    expect(page.get_by_test_id("next-occurrence")).to_be_visible()
    occurrence = (page.get_by_test_id("next-occurrence").get_attribute("href") or "").removeprefix("/tasks/")
    page.get_by_test_id("notice").get_by_role("button", name="Undo").click()
    expect(page.get_by_test_id("notice")).to_contain_text(f"Restored “{title}”")
    assert get_task(gtd_stack, occurrence).status_code == 404
    restored = get_task(gtd_stack, task["id"]).json()
    assert (restored["status"], restored["completed_at"]) == ("next", None)


# -- 4. blocked ---------------------------------------------------------------------------


def test_blocked_by_picked_in_the_form_moves_the_task_out_of_next(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    first = create_task(gtd_stack, title=f"Get quote {suffix}", status="next")
    second = create_task(gtd_stack, title=f"Book builder {suffix}", status="next")
    open_on(page, f"/tasks/{second['id']}")
    page.get_by_label("Blocked by").select_option([first["id"]])
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_contain_text("Saved.")
    assert get_task(gtd_stack, second["id"]).json()["blocked_by"] == [first["id"]]
    page.goto(f"/lists/next?q={suffix}")
    expect(row(page, first["title"])).to_be_visible()
    expect(row(page, second["title"])).to_have_count(0)
    page.goto(f"/blocked?q={suffix}")
    expect(row(page, second["title"]).get_by_test_id("blocked-mark")).to_contain_text("Blocked")


# -- 5. projects --------------------------------------------------------------------------


def test_the_project_list_shows_task_counts(page: Page, gtd_stack: Stack) -> None:
    project = create_project(gtd_stack, f"Counts {uid()}")
    create_task(gtd_stack, title=f"A {uid()}", status="next", project_id=project["id"])
    create_task(gtd_stack, title=f"B {uid()}", status="waiting", project_id=project["id"])
    create_task(gtd_stack, title=f"C {uid()}", status="done", project_id=project["id"])
    open_on(page, "/projects")
    item = page.locator(f"li.project[data-project-id='{project['id']}']")
    expect(item.get_by_test_id("task-counts")).to_contain_text("2 open · 1 next · 1 done")


def test_the_project_page_renames_and_sets_status_notes_and_review_date(page: Page, gtd_stack: Stack) -> None:
    project = create_project(gtd_stack, f"Old name {uid()}")
    new_name = f"New name {uid()}"
    open_on(page, f"/projects/{project['id']}")
    page.get_by_label("Name", exact=True).fill(new_name)
    page.get_by_label("Status").select_option("someday")
    page.get_by_label("Notes").fill("Later, when the garden is done.")
    page.get_by_label("Reviewed on").fill("2026-11-30")
    page.get_by_role("button", name="Save project").click()
    expect(page.locator("#project-status-line")).to_contain_text("Saved.")
    expect(page.get_by_role("heading", name=new_name)).to_be_visible()
    with gtd_stack.api("bun-sqlite") as api:
        saved = api.get(f"/projects/{project['id']}").json()
    assert (saved["name"], saved["status"], saved["notes"], saved["reviewed_on"]) == (
        new_name,
        "someday",
        "Later, when the garden is done.",
        "2026-11-30",
    )


# -- 6. weekly review ---------------------------------------------------------------------


def test_the_review_lists_active_projects_without_a_next_action(page: Page, gtd_stack: Stack) -> None:
    idle = create_project(gtd_stack, f"Idle {uid()}")
    busy = create_project(gtd_stack, f"Busy {uid()}")
    create_task(gtd_stack, title=f"Step {uid()}", status="next", project_id=busy["id"])
    open_on(page, "/review")
    missing = page.get_by_test_id("review-no-next")
    expect(missing.get_by_role("link", name=idle["name"])).to_be_visible()
    expect(missing.get_by_role("link", name=busy["name"])).to_have_count(0)


def test_the_review_marks_a_project_reviewed_today(page: Page, gtd_stack: Stack) -> None:
    project = create_project(gtd_stack, f"Review me {uid()}")
    open_on(page, "/review")
    page.get_by_role("button", name=f"Mark reviewed “{project['name']}”").click()
    item = page.get_by_test_id("review-projects").locator(f"li[data-project-id='{project['id']}']")
    expect(item.locator("[data-reviewed-on]")).to_have_attribute("data-reviewed-on", local_today(page).isoformat())


def test_the_review_lists_waiting_items_older_than_the_chosen_days(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    open_on(page, "/review")
    today = local_today(page)

    def stamp(days: int) -> str:
        return (today - timedelta(days=days)).isoformat() + "T09:00:00.000Z"

    old, recent = f"Chase invoice {suffix}", f"Chase reply {suffix}"
    document = {
        "version": 2,
        "projects": [],
        "tasks": [
            {
                "id": str(uuid.uuid4()),
                "title": title,
                "notes": None,
                "status": "waiting",
                "created_at": stamp(days),
                "updated_at": stamp(days),
            }
            for title, days in ((old, 10), (recent, 3))
        ],
    }
    with gtd_stack.api("bun-sqlite") as api:
        assert api.post("/import", json=document).status_code == 200
    page.reload()
    waiting = page.get_by_test_id("review-waiting")
    expect(waiting.get_by_role("link", name=old)).to_be_visible()
    expect(waiting.get_by_role("link", name=recent)).to_have_count(0)
    page.get_by_role("spinbutton", name="Days").fill("2")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("review-waiting").get_by_role("link", name=recent)).to_be_visible()


# -- 7. search ----------------------------------------------------------------------------


def test_search_matches_titles_and_notes_within_the_context_filter(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    home, work = f"@home-{suffix}", f"@work-{suffix}"
    create_task(gtd_stack, title=f"Fix the TAP {suffix}", status="next", context=home)
    create_task(gtd_stack, title=f"Call plumber {suffix}", status="next", context=home, notes="about the tap")
    create_task(gtd_stack, title=f"Tap report {suffix}", status="next", context=work)
    create_task(gtd_stack, title=f"Paint door {suffix}", status="next", context=home)
    open_on(page, f"/lists/next?context={home.replace('@', '%40')}")
    page.get_by_label("Search this list").fill("tap")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=tap"))
    expect(row(page, f"Fix the TAP {suffix}")).to_be_visible()
    expect(row(page, f"Call plumber {suffix}")).to_be_visible()
    expect(row(page, f"Tap report {suffix}")).to_have_count(0)
    expect(row(page, f"Paint door {suffix}")).to_have_count(0)


# -- 8. keyboard --------------------------------------------------------------------------


def test_the_capture_box_has_focus_on_load_and_on_n(page: Page) -> None:
    open_on(page, "/")
    box = page.get_by_label("Capture to inbox")
    expect(box).to_be_focused()
    page.get_by_role("heading", name="Inbox").click()
    expect(box).not_to_be_focused()
    page.keyboard.press("n")
    expect(box).to_be_focused()
    expect(box).to_have_value("")


def test_j_k_select_and_x_completes_with_focus_left_on_the_list(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    titles = [f"Key {n} {suffix}" for n in range(3)]
    for title in titles:
        create_task(gtd_stack, title=title, status="someday")
    open_on(page, f"/lists/someday?q={suffix}")
    expect(page.locator("li.task[data-task-id]")).to_have_count(3)
    page.get_by_role("heading", name="Someday").click()
    page.keyboard.press("j")
    expect(row(page, titles[2])).to_be_focused()  # newest first
    page.keyboard.press("j")
    expect(row(page, titles[1])).to_be_focused()
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.get_by_test_id("notice")).to_contain_text(f"Completed “{titles[1]}”")
    expect(row(page, titles[1])).to_have_count(0)
    expect(row(page, titles[0])).to_be_focused()
    assert get_task(gtd_stack, page_task_id(gtd_stack, titles[1])).json()["status"] == "done"


def page_task_id(stack: Stack, title: str) -> str:
    with stack.api("bun-sqlite") as api:
        found = api.get("/tasks", params={"q": title}).json()["tasks"]
    assert len(found) == 1, found
    return str(found[0]["id"])


def test_number_keys_file_the_selected_task(page: Page, gtd_stack: Stack) -> None:
    title = f"File me {uid()}"
    task = create_task(gtd_stack, title=title)
    open_on(page, "/")
    page.get_by_role("heading", name="Inbox").click()
    row(page, title).focus()
    page.keyboard.press("3")
    expect(page.get_by_test_id("notice")).to_contain_text(f"Moved “{title}” to Waiting")
    assert get_task(gtd_stack, task["id"]).json()["status"] == "waiting"


def test_e_opens_the_selected_task_for_editing(page: Page, gtd_stack: Stack) -> None:
    title = f"Edit me {uid()}"
    create_task(gtd_stack, title=title, status="scheduled")
    open_on(page, f"/lists/scheduled?q={title.split()[-1]}")
    row(page, title).focus()
    page.keyboard.press("e")
    expect(page.get_by_label("Title")).to_have_value(title)


def test_question_mark_shows_the_keys(page: Page) -> None:
    open_on(page, "/")
    page.get_by_role("heading", name="Inbox").click()
    page.keyboard.press("?")
    expect(page.get_by_role("region", name="Keyboard shortcuts")).to_contain_text(
        "file to Inbox, Next, Waiting, Scheduled, Someday"
    )


def test_a_captured_context_takes_the_existing_spelling(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    create_task(gtd_stack, title=f"Existing {suffix}", context=f"@Errands-{suffix}")
    try:
        open_on(page, f"/?q={suffix}")
        box = page.get_by_label("Capture to inbox")
        box.fill(f"Buy stamps {suffix} @errands-{suffix}")
        box.press("Enter")
        expect(row(page, f"Buy stamps {suffix}")).to_contain_text(f"@Errands-{suffix}")
    finally:
        remove_matching(gtd_stack, suffix)


def test_the_capture_box_suggests_a_context_only_a_task_on_another_list_has(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    context = f"@dentist-{suffix}"
    create_task(gtd_stack, title=f"Floss {suffix}", status="someday", context=context)
    try:
        open_on(page, "/")
        expect(page.get_by_test_id("task-list").get_by_text(context)).to_have_count(0)  # not on this page
        page.get_by_label("Capture to inbox").press_sequentially(f"Book checkup @DENTIST-{suffix[:3]}")
        expect(page.get_by_test_id("context-suggestions").get_by_role("button", name=context)).to_be_visible()
    finally:
        remove_matching(gtd_stack, suffix)


def test_tab_takes_the_suggested_context_into_the_capture_box(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    context = f"@garage-{suffix}"
    create_task(gtd_stack, title=f"Tidy {suffix}", status="next", context=context)
    try:
        open_on(page, "/")
        box = page.get_by_label("Capture to inbox")
        box.press_sequentially(f"Oil the bike @garage-{suffix[:4]}")
        expect(page.get_by_test_id("context-suggestions").get_by_role("button", name=context)).to_be_visible()
        box.press("Tab")
        expect(box).to_have_value(f"Oil the bike {context} ")
        expect(box).to_be_focused()
    finally:
        remove_matching(gtd_stack, suffix)


def test_capturing_another_case_of_a_context_files_it_under_the_existing_spelling(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    context = f"@home-{suffix}"
    create_task(gtd_stack, title=f"Hoover {suffix}", status="waiting", context=context)  # not on the inbox
    try:
        open_on(page, "/")
        box = page.get_by_label("Capture to inbox")
        box.fill(f"Fix shelf {suffix} @HOME-{suffix.upper()}")
        box.press("Enter")
        expect(page.get_by_test_id("notice")).to_contain_text(f"Captured “Fix shelf {suffix}”")
        with gtd_stack.api("bun-sqlite") as api:
            found = api.get("/tasks", params={"q": f"Fix shelf {suffix}"}).json()["tasks"]
    finally:
        remove_matching(gtd_stack, suffix)
    assert [t["context"] for t in found] == [context]


def test_the_edit_form_suggests_a_context_of_a_task_on_another_list(page: Page, gtd_stack: Stack) -> None:
    suffix = uid()
    context = f"@attic-{suffix}"
    create_task(gtd_stack, title=f"Store boxes {suffix}", status="scheduled", context=context)
    task = create_task(gtd_stack, title=f"Edit here {suffix}", status="next")
    try:
        open_on(page, f"/tasks/{task['id']}")
        expect(page.get_by_label("Context", exact=True)).to_have_attribute("list", "known-contexts")
        expect(page.locator(f"#known-contexts option[value='{context}']")).to_have_count(1)
    finally:
        remove_matching(gtd_stack, suffix)


def remove_matching(stack: Stack, text: str) -> None:
    """Delete the tasks matching ``text``: inbox tasks with a context would show a context
    filter on the inbox that other suites' ``get_by_label("Context")`` also matches."""
    with stack.api("bun-sqlite") as api:
        for found in api.get("/tasks", params={"q": text}).json()["tasks"]:
            api.delete(f"/tasks/{found['id']}")


# -- 9. undo ------------------------------------------------------------------------------


def test_undo_delete_restores_the_same_id(page: Page, gtd_stack: Stack) -> None:
    title = f"Keep my id {uid()}"
    task = create_task(gtd_stack, title=title, context="@undo", notes="as it was")
    try:
        open_on(page, "/")
        row(page, title).get_by_role("button", name=f"Delete “{title}”").click()
        expect(page.get_by_test_id("notice")).to_contain_text(f"Deleted “{title}”.")
        assert get_task(gtd_stack, task["id"]).status_code == 404
        page.get_by_test_id("notice").get_by_role("button", name="Undo").click()
        expect(page.get_by_test_id("notice")).to_contain_text(f"Restored “{title}”")
        expect(row(page, title)).to_have_attribute("data-task-id", task["id"])
        restored = get_task(gtd_stack, task["id"]).json()
    finally:
        remove_matching(gtd_stack, title)
    restored.pop("blocked")
    task.pop("blocked")
    assert restored == task


def test_undo_move_puts_the_task_back_in_its_list(page: Page, gtd_stack: Stack) -> None:
    title = f"Move back {uid()}"
    task = create_task(gtd_stack, title=title)
    open_on(page, "/")
    row(page, title).get_by_label(f"Move “{title}” to").select_option("someday")
    row(page, title).get_by_role("button", name="Move", exact=True).click()
    expect(row(page, title)).to_have_count(0)
    page.get_by_test_id("notice").get_by_role("button", name="Undo").click()
    expect(row(page, title)).to_have_attribute("data-pending", "false")
    assert get_task(gtd_stack, task["id"]).json()["status"] == "inbox"


# -- 10. data across backends ---------------------------------------------------------------


def test_export_downloads_the_backends_json(app: App, gtd_stack: Stack) -> None:
    page = app.page
    title = f"Exported {uid()}"
    create_task(gtd_stack, title=title)
    open_on(page, "/data")
    expect(page.get_by_test_id("own-data")).to_contain_text("Each backend holds its own tasks")
    with page.expect_download() as download:
        page.get_by_test_id("export-json").click()
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document["version"] == 2
    assert title in [t["title"] for t in document["tasks"]]


def test_export_downloads_tasks_as_csv(app: App, gtd_stack: Stack) -> None:
    page = app.page
    title = f'In a sheet, {uid()} "quoted"'
    create_task(gtd_stack, title=title)
    open_on(page, "/data")
    with page.expect_download() as download:
        page.get_by_test_id("export-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith('"id","title","status"') or text.startswith("id,title,status")
    assert '"' + title.replace('"', '""') + '"' in text


def test_import_shows_the_counts(app: App, tmp_path: Path) -> None:
    page = app.page
    task_id = str(uuid.uuid4())
    stamp = "2026-01-02T03:04:05.000Z"
    document = {
        "version": 2,
        "projects": [],
        "tasks": [
            {
                "id": task_id,
                "title": f"Imported {uid()}",
                "notes": None,
                "status": "inbox",
                "created_at": stamp,
                "updated_at": stamp,
            }
        ],
    }
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    open_on(page, "/data")
    page.get_by_label("JSON export file").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    counts = page.get_by_test_id("import-status").get_by_test_id("task-import-counts")
    expect(counts).to_have_attribute("data-created", "1")
    page.get_by_role("button", name="Import").click()  # the same file again changes nothing
    expect(page.get_by_test_id("import-status").get_by_test_id("task-import-counts")).to_have_attribute(
        "data-unchanged", "1"
    )


def test_import_shows_the_field_a_backend_refused(app: App, tmp_path: Path) -> None:
    page = app.page
    stamp = "2026-01-02T03:04:05.000Z"
    good = {
        "id": str(uuid.uuid4()),
        "title": "Fine",
        "notes": None,
        "status": "inbox",
        "created_at": stamp,
        "updated_at": stamp,
    }
    bad = {**good, "id": str(uuid.uuid4()), "status": "later"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"version": 2, "projects": [], "tasks": [good, bad]}), encoding="utf-8")
    open_on(page, "/data")
    page.get_by_label("JSON export file").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-status").get_by_test_id("error-field")).to_have_text("tasks[1].status")


def test_copy_to_another_backend_then_again_changes_nothing(app: App, gtd_stack: Stack) -> None:
    page = app.page
    title = f"Copied over {uid()}"
    create_task(gtd_stack, title=title)
    open_on(page, "/data")
    page.get_by_label("Target backend").select_option("cf-d1")
    page.get_by_role("button", name="Copy").click()
    status = page.get_by_test_id("copy-status")
    expect(status).to_have_attribute("data-state", "done", timeout=60_000)
    with gtd_stack.api("cf-d1") as api:
        assert title in [t["title"] for t in api.get("/tasks", params={"q": title}).json()["tasks"]]
    page.get_by_role("button", name="Copy").click()
    expect(status).to_have_attribute("data-state", "done", timeout=60_000)
    counts = status.get_by_test_id("task-import-counts")
    expect(counts).to_have_attribute("data-created", "0")
    expect(counts).to_have_attribute("data-updated", "0")


# -- 12. accessibility --------------------------------------------------------------------


PAGES = ["/", "/lists/next", "/tickler", "/projects", "/review", "/data"]


@pytest.fixture(params=[390, 1280], ids=["phone", "desktop"])
def sized(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    width = int(request.param)
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": 844 if width < 500 else 860})
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_axe_violations(sized: Page, path: str) -> None:
    open_on(sized, path)
    expect(sized.get_by_role("main")).to_be_visible()
    sized.add_script_tag(path=str(AXE))
    result = sized.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})")
    violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
    assert violations == []


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(
        base_url=base_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def test_capture_is_on_the_first_screen_at_phone_width(phone: Page) -> None:
    open_on(phone, "/")
    box = phone.get_by_label("Capture to inbox").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844


def test_every_list_is_reachable_at_phone_width(phone: Page) -> None:
    sized = phone
    open_on(sized, "/")
    width = 390
    for name in (
        "Inbox",
        "Next",
        "Waiting",
        "Scheduled",
        "Someday",
        "Done",
        "Tickler",
        "Blocked",
        "Projects",
        "Weekly review",
    ):
        link = lists(sized).get_by_role("link", name=re.compile(f"^{name}"))
        link.scroll_into_view_if_needed()
        expect(link).to_be_visible()
    assert sized.evaluate("document.documentElement.scrollWidth") <= width


def test_first_load_has_no_loading_spinner(frontend: Frontend, gtd_stack: Stack) -> None:
    html = httpx.get(frontend.url + "/", timeout=30).text
    assert 'class="loading"' not in html
    assert 'class="spinner"' not in html


def test_the_backend_switcher_folds_into_a_menu_at_phone_width(phone: Page) -> None:
    phone.goto("/")
    chosen = phone.locator("button.backend[aria-pressed='true']")
    expect(chosen).to_be_visible()  # the chosen backend stays in view
    others = phone.locator("button.backend[aria-pressed='false']")
    expect(others.first).to_be_hidden()
    phone.get_by_role("button", name="Backends").click()
    expect(phone.get_by_role("button", name="Backends")).to_have_attribute("aria-expanded", "true")
    expect(others.first).to_be_visible()


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``rgb(…)``/``rgba(…)`` colours (alpha ignored)."""

    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in re.findall(r"[\d.]+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_focus_ring_contrasts_three_to_one_with_the_page(page: Page) -> None:
    open_on(page, "/")
    page.get_by_role("heading", name="Inbox").click()
    page.keyboard.press("Tab")  # the keyboard: :focus-visible
    ring = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor,"
        " getComputedStyle(document.body).backgroundColor]; })()"
    )
    style, width, colour, background = ring
    assert (style, width >= 3) == ("solid", True), ring
    assert contrast(colour, background) >= 3, ring


def test_chosen_backend_and_current_list_are_marked_beyond_colour_in_forced_colours(
    browser: Browser, base_url: str
) -> None:
    context = browser.new_context(base_url=base_url, forced_colors="active")
    try:
        page = context.new_page()
        open_on(page, "/lists/next")
        marks = page.evaluate(
            "(() => { const b = getComputedStyle(document.querySelector('button.backend[aria-pressed=\"true\"]'));"
            " const n = getComputedStyle(document.querySelector('nav.nav a[aria-current=\"page\"]'));"
            " return [parseFloat(b.borderTopWidth), b.textDecorationLine, parseFloat(n.borderLeftWidth),"
            " n.textDecorationLine]; })()"
        )
        assert marks[0] >= 2 and marks[2] >= 3, marks
        assert "underline" in marks[1] and "underline" in marks[3], marks
    finally:
        context.close()
