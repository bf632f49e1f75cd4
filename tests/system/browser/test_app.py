"""End to end in Chromium: frontend → gateway → bun-sqlite and cf-d1.

Data is shared by the whole session (one stack), so every test makes its own
titles and contexts with a unique suffix.

Which flows run where. The tests taking the ``app`` fixture run twice, ``[twin]``
(the CPython twin, ENVIRONMENT=local, cf-d1 at a local and a cloud entry) and
``[worker]`` (the Worker under wrangler dev on real workerd, ENVIRONMENT=cloud,
its backends read from KV, one cloud entry each). They are the flows that
show the Worker path from the browser: the backend switcher and its health
from ``/_gateway/backends``, capture on bun-sqlite, switch to cf-d1 and back,
edit/move/complete/delete/undo through Server Actions, and a stopped backend:
the board stays with the error inline and recovers without a reload, and
captures made during the outage wait in the browser's outbox (through a
reload) and arrive exactly once. Where the runtimes differ the test pins each one (the location switcher: the twin shows cf-d1's
``auto``/``local``/``cloud``, the Worker has one cloud entry per backend and
shows none). Everything else (context filter, projects, empty states, the
API key check, phone width, the capture timing, a capture made offline)
exercises the frontend rather than the gateway and runs on the twin only, to
keep the Worker's share of the wall time to its start-up (≈ 10–40 s) and five flows.
The contract-v2 flows the gateway carries (the sidebar from ``/counts``, "Show more"
paging, export, import, "Copy my tasks to…") run on both too, in test_gtd.py.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, Response, expect

from harness import services
from harness.process import tool_env

from .conftest import App, Frontend, Stack, p90, time_captures


def uid() -> str:
    return uuid.uuid4().hex[:8]


def use_backend(page: Page, backend: str) -> None:
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.locator(f"button.backend[data-backend='{backend}']").click()
    expect(page.locator(f"button.backend[data-backend='{backend}']")).to_have_attribute("aria-pressed", "true")


def capture(page: Page, title: str) -> None:
    box = page.get_by_label("Capture to inbox")
    box.fill(title)
    box.press("Enter")
    expect(task(page, title)).to_have_attribute("data-pending", "false")


def task(page: Page, title: str) -> Locator:
    return page.locator(f"li.task[data-title='{title}']")


# -- smoke ---------------------------------------------------------------------


def test_health_route_answers_without_the_gateway(frontend: Frontend) -> None:
    response = httpx.get(frontend.url + "/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    deep = httpx.get(frontend.url + "/api/health?gateway=1")
    assert deep.status_code == 200 and deep.json()["gateway"] == "reachable"


def test_switcher_lists_backends_with_health_and_locations(app: App) -> None:
    page = app.page
    page.goto("/")
    switcher = page.get_by_role("group", name="Backend")
    expect(switcher.get_by_role("button")).to_have_count(2)
    expect(switcher).to_contain_text("Bun + SQLite")
    expect(switcher).to_contain_text("Cloudflare D1")
    use_backend(page, "bun-sqlite")
    expect(page.locator("button.backend[data-backend='bun-sqlite']")).to_have_attribute("data-health", "healthy")
    expect(page.get_by_role("group", name="Location")).to_have_count(0)  # bun-sqlite has one location
    use_backend(page, "cf-d1")
    expect(page.locator("button.backend[data-backend='cf-d1']")).to_have_attribute("data-health", "healthy")
    served = page.get_by_test_id("served-by").last
    if app.gateway == "worker":
        # A cloud gateway: cf-d1 has one (cloud) entry, so there is nothing to choose.
        expect(page.get_by_role("group", name="Location")).to_have_count(0)
        # Both runtimes run one pipeline (gateway.app) that names the entry that answered.
        expect(served).to_have_attribute("data-backend", "cf-d1")
        expect(served).to_have_attribute("data-location", "cloud")
        return
    locations = page.get_by_role("group", name="Location")
    expect(locations.get_by_role("button")).to_have_count(3)  # auto, local, cloud
    with page.expect_response(lambda r: r.request.method == "POST"):
        locations.get_by_role("button", name="cloud").click()
    expect(locations.get_by_role("button", name="cloud")).to_have_attribute("aria-pressed", "true")
    expect(served).to_have_attribute("data-location", "cloud")
    expect(served).to_contain_text("cf-d1")
    locations.get_by_role("button", name=re.compile("^auto")).click()
    expect(locations.get_by_role("button", name=re.compile("^auto"))).to_have_attribute("aria-pressed", "true")


# -- GTD flows -------------------------------------------------------------------


def shot(app: App, screenshots: Path, name: str) -> None:
    """The committed screenshots are the twin's (the Worker's pages look the same)."""
    if app.gateway == "twin":
        app.page.screenshot(path=str(screenshots / name), full_page=True)


def test_capture_lands_on_the_chosen_backend_only(app: App, gtd_stack: Stack, screenshots: Path) -> None:
    page = app.page
    on_bun, on_d1 = f"Buy milk {uid()}", f"Call Ana {uid()}"
    page.goto("/")
    use_backend(page, "bun-sqlite")
    capture(page, on_bun)
    expect(page.get_by_test_id("notice")).to_contain_text(f"Captured “{on_bun}”")
    expect(page.get_by_test_id("served-by").first).to_have_attribute("data-backend", "bun-sqlite")
    shot(app, screenshots, "inbox-bun-sqlite.png")

    use_backend(page, "cf-d1")
    expect(task(page, on_bun)).to_have_count(0)
    capture(page, on_d1)
    shot(app, screenshots, "inbox-cf-d1.png")

    use_backend(page, "bun-sqlite")
    expect(task(page, on_bun)).to_be_visible()
    expect(task(page, on_d1)).to_have_count(0)
    # The backends agree (asked through the twin, whichever gateway the browser used).
    with gtd_stack.api("bun-sqlite") as bun, gtd_stack.api("cf-d1") as d1:
        assert on_bun in {t["title"] for t in bun.get("/tasks").json()["tasks"]}
        assert on_d1 in {t["title"] for t in d1.get("/tasks").json()["tasks"]}
        assert on_bun not in {t["title"] for t in d1.get("/tasks").json()["tasks"]}


def test_edit_move_complete_delete_and_undo(app: App, screenshots: Path) -> None:
    page = app.page
    title, context = f"Write report {uid()}", f"@desk-{uid()}"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    page.goto("/")
    use_backend(page, "bun-sqlite")
    capture(page, title)

    # Edit: notes, context, due date (overdue).
    task(page, title).get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name="Edit task")).to_be_visible()
    page.get_by_label("Notes").fill("Two pages, with figures.")
    page.get_by_label("Context").fill(context)
    page.get_by_label("Due date").fill(yesterday)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_contain_text("Saved.")
    shot(app, screenshots, "edit-task.png")
    page.get_by_role("link", name="Back to Inbox").click()
    item = task(page, title)
    expect(item).to_contain_text(context)
    expect(item).to_contain_text("Two pages, with figures.")
    expect(item.locator("[data-overdue='true']")).to_contain_text("Overdue")

    # Move to Next.
    item.get_by_label(f"Move “{title}” to").select_option("next")
    item.get_by_role("button", name="Move").click()
    expect(task(page, title)).to_have_count(0)
    page.get_by_role("navigation", name="Lists").get_by_role("link", name=re.compile("^Next")).click()
    expect(page.get_by_role("heading", name="Next")).to_be_visible()
    expect(task(page, title)).to_be_visible()
    shot(app, screenshots, "next-list.png")

    # Complete: it leaves Next and shows up in Done.
    task(page, title).get_by_role("button", name=f"Complete “{title}”").click()
    expect(page.get_by_test_id("notice")).to_contain_text(f"Completed “{title}”")
    expect(task(page, title)).to_have_count(0)
    page.get_by_role("navigation", name="Lists").get_by_role("link", name=re.compile("^Done")).click()
    expect(task(page, title)).to_be_visible()

    # Delete, undo, delete again.
    task(page, title).get_by_role("button", name=f"Delete “{title}”").click()
    expect(task(page, title)).to_have_count(0)
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text(f"Deleted “{title}”.")
    notice.get_by_role("button", name="Undo").click()
    expect(notice).to_contain_text(f"Restored “{title}”")
    expect(task(page, title)).to_have_attribute("data-pending", "false")
    task(page, title).get_by_role("button", name=f"Delete “{title}”").click()
    expect(task(page, title)).to_have_count(0)
    page.reload()
    expect(task(page, title)).to_have_count(0)


def test_filter_by_context(page: Page, gtd_stack: Stack, screenshots: Path) -> None:
    suffix = uid()
    home, phone = f"@home-{suffix}", f"@phone-{suffix}"
    with gtd_stack.api("cf-d1") as api:
        for title, context in (
            (f"Fix tap {suffix}", home),
            (f"Call bank {suffix}", phone),
            (f"Water plants {suffix}", home),
        ):
            assert api.post("/tasks", json={"title": title, "context": context, "status": "next"}).status_code == 201
    page.goto("/lists/next")
    use_backend(page, "cf-d1")
    filters = page.get_by_role("navigation", name="Filter by context")
    filters.get_by_role("link", name=home).click()
    expect(page).to_have_url(re.compile(r"context=%40home-"))
    expect(task(page, f"Fix tap {suffix}")).to_be_visible()
    expect(task(page, f"Water plants {suffix}")).to_be_visible()
    expect(task(page, f"Call bank {suffix}")).to_have_count(0)
    page.screenshot(path=str(screenshots / "context-filter.png"), full_page=True)
    filters.get_by_role("link", name="All").click()
    expect(task(page, f"Call bank {suffix}")).to_be_visible()


def test_project_with_tasks(page: Page, screenshots: Path) -> None:
    name, step = f"Move house {uid()}", f"Book van {uid()}"
    page.goto("/projects")
    use_backend(page, "bun-sqlite")
    page.get_by_label("New project").fill(name)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("list", name="Projects").get_by_role("link", name=name)).to_be_visible()
    page.get_by_role("list", name="Projects").get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_test_id("empty")).to_be_visible()
    box = page.get_by_label("Add a task to this project")
    box.fill(step)
    box.press("Enter")
    expect(task(page, step)).to_have_attribute("data-pending", "false")
    expect(task(page, step)).to_contain_text("Next")
    page.screenshot(path=str(screenshots / "project.png"), full_page=True)

    # The task carries its project into the Next list.
    page.get_by_role("navigation", name="Lists").get_by_role("link", name=re.compile("^Next")).click()
    expect(task(page, step).get_by_role("link", name=name)).to_be_visible()

    # Delete the project (with confirmation): its task stays, without a project.
    task(page, step).get_by_role("link", name=name).click()
    page.get_by_role("button", name="Delete project…").click()
    page.get_by_role("button", name="Yes, delete project").click()
    expect(page).to_have_url(re.compile(r"/projects$"))
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    page.goto("/lists/next")
    expect(task(page, step)).to_be_visible()
    expect(task(page, step).get_by_role("link", name=name)).to_have_count(0)


def empty_status(stack: Stack, backend: str, status: str) -> None:
    """Delete every ``status`` task on ``backend``: the session's data is shared, an empty list is made."""
    with stack.api(backend) as api:
        while tasks := api.get("/tasks", params={"status": status}).json()["tasks"]:
            for item in tasks:
                assert api.delete(f"/tasks/{item['id']}").status_code == 204


def test_empty_states(page: Page, gtd_stack: Stack) -> None:
    empty_status(gtd_stack, "cf-d1", "someday")
    page.goto("/lists/someday")
    use_backend(page, "cf-d1")
    expect(page.get_by_test_id("empty")).to_have_text("No someday/maybe items.")
    page.goto("/lists/waiting?context=%40nothing-here")
    expect(page.get_by_test_id("empty")).to_contain_text("No waiting tasks in @nothing-here.")


# -- the hybrid part: failure and recovery ---------------------------------------------


def test_stopped_backend_keeps_the_board_and_recovers_by_itself(app: App, gtd_stack: Stack, screenshots: Path) -> None:
    page = app.page
    title = f"Survives restart {uid()}"
    page.goto("/")
    use_backend(page, "cf-d1")
    capture(page, title)
    task_href = task(page, title).get_by_role("link", name=title).get_attribute("href")
    assert task_href and task_href.startswith("/tasks/"), task_href

    gtd_stack.stop_cf_d1()
    try:
        page.reload()
        main = page.get_by_role("main")
        panel = main.get_by_test_id("error-panel")
        expect(panel).to_be_visible(timeout=15_000)
        expect(panel).to_contain_text("cf-d1")
        code = panel.get_attribute("data-code")
        assert code in {"backend_unhealthy", "backend_unavailable"}, code
        expect(panel).to_contain_text(f"(503 {code})")
        request_id = panel.get_attribute("data-request-id") or ""
        assert re.fullmatch(r"[A-Za-z0-9._-]{8,128}", request_id), request_id
        expect(panel.locator("code.request-id")).to_have_text(request_id)
        expect(panel).to_contain_text("Retrying…")
        # The board stays: the capture box above the error, the switcher with its health.
        expect(main.get_by_label("Capture to inbox")).to_be_editable()
        dot = page.locator("button.backend[data-backend='cf-d1']")
        expect(dot).to_have_attribute("data-health", "unhealthy")
        expect(dot).to_contain_text("unhealthy")  # written out, not only a red dot
        expect(page.locator("button.backend[data-backend='bun-sqlite']")).to_have_attribute("data-health", "healthy")
        page.wait_for_load_state("networkidle")
        shot(app, screenshots, "backend-unhealthy.png")

        # The other pages keep the shell and the switcher too.
        for path in ("/projects", task_href):
            page.goto(path)
            expect(page.get_by_role("main").get_by_test_id("error-panel")).to_be_visible()
            expect(page.get_by_role("group", name="Backend").get_by_role("button")).to_have_count(2)
            expect(page.get_by_role("navigation", name="Lists")).to_be_visible()
        page.goto("/")
        expect(main.get_by_test_id("error-panel")).to_be_visible()
    finally:
        gtd_stack.start_cf_d1()

    # No reload: the page re-checks by itself and shows the list again.
    expect(page.get_by_test_id("error-panel")).to_have_count(0, timeout=30_000)
    expect(task(page, title)).to_be_visible()
    expect(page.locator("button.backend[data-backend='cf-d1']")).to_have_attribute(
        "data-health", "healthy", timeout=15_000
    )


def queued(page: Page, title: str, backend: str) -> Locator:
    return page.locator(f"li.task[data-queued='true'][data-backend='{backend}'][data-title='{title}']")


def delivered(page: Page, title: str) -> Locator:
    """The task as the backend returned it (queued captures have no id yet)."""
    return page.locator(f"li.task[data-task-id][data-title='{title}']")


def titles_on(stack: Stack, backend: str) -> list[str]:
    with stack.api(backend) as api:
        response = api.get("/tasks")
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["tasks"]]


def test_captures_during_an_outage_are_kept_and_delivered_once(app: App, gtd_stack: Stack, screenshots: Path) -> None:
    page = app.page
    titles = [f"Kept {n} {uid()}" for n in range(1, 4)]
    page.goto("/")
    use_backend(page, "cf-d1")

    gtd_stack.stop_cf_d1()
    try:
        box = page.get_by_label("Capture to inbox")
        for title in titles:
            box.fill(title)
            box.press("Enter")
            expect(queued(page, title, "cf-d1")).to_be_visible(timeout=30_000)
            expect(queued(page, title, "cf-d1")).to_contain_text("waiting for cf-d1")
        outbox = page.get_by_test_id("outbox")
        expect(outbox).to_have_attribute("data-count", "3")
        expect(outbox.locator("[data-testid='outbox-backend'][data-backend='cf-d1']")).to_have_attribute(
            "data-count", "3"
        )
        expect(outbox).to_contain_text("3 captures waiting for cf-d1")

        # The queue lives in the browser (IndexedDB), not in the page.
        page.reload()
        expect(page.get_by_role("main").get_by_test_id("error-panel")).to_be_visible(timeout=15_000)
        for title in titles:
            expect(queued(page, title, "cf-d1")).to_be_visible()
        expect(page.get_by_test_id("outbox")).to_have_attribute("data-count", "3")
        page.wait_for_load_state("networkidle")
        shot(app, screenshots, "outage-captures-waiting.png")
    finally:
        gtd_stack.start_cf_d1()

    # Sent by the page itself (no reload) once cf-d1 answers, each exactly once.
    expect(page.get_by_test_id("outbox")).to_have_count(0, timeout=40_000)
    for title in titles:
        expect(delivered(page, title)).to_have_count(1)
        expect(page.locator(f"li.task[data-queued='true'][data-title='{title}']")).to_have_count(0)
    on_d1 = titles_on(gtd_stack, "cf-d1")
    assert {title: on_d1.count(title) for title in titles} == dict.fromkeys(titles, 1)
    on_bun = titles_on(gtd_stack, "bun-sqlite")
    assert not set(titles) & set(on_bun)


@contextmanager
def captured_offline(page: Page, title: str) -> Iterator[None]:
    """Capture ``title`` on bun-sqlite with the browser offline; back online when the block ends."""
    page.goto("/")
    use_backend(page, "bun-sqlite")
    page.context.set_offline(True)
    try:
        box = page.get_by_label("Capture to inbox")
        box.fill(title)
        box.press("Enter")
        expect(queued(page, title, "bun-sqlite")).to_contain_text("waiting for bun-sqlite")
        yield
    finally:
        page.context.set_offline(False)


def test_offline_capture_is_delivered_once_back_online(page: Page, gtd_stack: Stack) -> None:
    title = f"Offline {uid()}"
    with captured_offline(page, title):
        expect(page.get_by_test_id("outbox")).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("outbox")).to_have_count(0)
    expect(delivered(page, title)).to_have_count(1)
    assert titles_on(gtd_stack, "bun-sqlite").count(title) == 1


AXE = Path(__file__).resolve().parents[3] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"


def test_waiting_capture_and_health_marks_are_axe_clean(page: Page) -> None:
    """The outbox line, a queued item and the health marks, checked by axe-core (WCAG 2 A/AA rules)."""
    title = f"Axe {uid()}"
    with captured_offline(page, title):
        expect(page.get_by_test_id("outbox")).to_be_visible()
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']})")
    violations = [(v["id"], [n["target"] for n in v["nodes"]]) for v in result["violations"]]
    assert violations == []
    expect(page.get_by_test_id("outbox")).to_have_count(0)


# -- the key stays on the server -------------------------------------------------


def test_api_key_never_reaches_the_browser(page: Page, gtd_stack: Stack, frontend: Frontend) -> None:
    key = gtd_stack.api_key
    seen: list[Response] = []
    page.on("response", lambda response: seen.append(response))
    origins: set[str] = set()
    bodies_read: list[Response] = []
    read = 0

    def scan() -> None:
        """Check what arrived since the last scan; before a navigation, as Chromium drops the old page's bodies."""
        nonlocal read
        page.wait_for_load_state("networkidle")
        arrived, read = seen[read:], len(seen)
        for response in arrived:
            origins.add(re.sub(r"^(https?://[^/]+).*$", r"\1", response.url))
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
            assert key not in headers, f"API key in the headers of {response.url}"
        # A redirect has no body to read; a request the page cancelled (a prefetch) received none.
        with_body = [r for r in arrived if not (300 <= r.status < 400 or r.request.failure is not None)]
        assert [r for r in arrived if r.request.resource_type == "document" and r.ok] == [
            r for r in with_body if r.request.resource_type == "document" and r.ok
        ], "a page's own HTML went unread"
        for response in with_body:
            assert key.encode() not in response.body(), f"API key in the body of {response.url}"
        bodies_read.extend(with_body)

    title = f"Secret-free {uid()}"
    page.goto("/")
    use_backend(page, "bun-sqlite")
    capture(page, title)
    task(page, title).get_by_role("link", name=title).click()
    page.get_by_label("Context").fill("@keys")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#edit-status")).to_contain_text("Saved.")
    scan()
    page.goto("/projects")
    scan()
    page.goto("/lists/done")
    use_backend(page, "cf-d1")
    scan()
    page.goto("/does-not-exist")
    scan()

    assert len(seen) > 10
    assert sum(r.request.resource_type == "document" for r in bodies_read) >= 3  # "/", "/projects", "/lists/done"
    assert origins == {frontend.url}, f"the browser talked to {origins}"
    # Every JS chunk of the build, fetched directly, too.
    chunks = {m for r in seen for m in re.findall(r"/_next/static/[^\"'\s)]+\.js", r.url)}
    static = Path(__file__).resolve().parents[3] / "frontend" / ".next" / "static"
    files = list(static.rglob("*.js"))
    assert files and chunks
    for path in files:
        assert key.encode() not in path.read_bytes(), f"API key in {path}"


# -- phone width and timing ------------------------------------------------------------


@pytest.fixture
def phone(browser, base_url: str):
    context = browser.new_context(
        base_url=base_url, viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def test_phone_width(phone: Page, screenshots: Path) -> None:
    title = f"From the phone {uid()}"
    phone.goto("/")
    use_backend(phone, "bun-sqlite")
    capture(phone, title)
    expect(task(phone, title).get_by_role("button", name=f"Complete “{title}”")).to_be_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide at 375px"
    phone.screenshot(path=str(screenshots / "phone-inbox.png"), full_page=True)
    task(phone, title).get_by_role("link", name=title).click()
    expect(phone.get_by_label("Title")).to_have_value(title)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.screenshot(path=str(screenshots / "phone-edit.png"), full_page=True)


def test_capture_round_trip(page: Page, capsys: pytest.CaptureFixture[str]) -> None:
    """Time from Enter to the task shown (optimistically) and confirmed by the server; printed, not asserted."""
    page.goto("/")
    use_backend(page, "bun-sqlite")
    shown, confirmed = time_captures(page, [f"Round trip {n} {uid()}" for n in range(20)])
    with capsys.disabled():
        print(
            f"\ncapture round trip over {len(confirmed)} captures (bun-sqlite): "
            f"confirmed p50 {statistics.median(confirmed):.0f} ms (p90 {p90(confirmed):.0f} ms), "
            f"optimistic p50 {statistics.median(shown):.0f} ms"
        )


# -- the JS budget counts what a browser loads -------------------------------------------


def test_budget_counts_every_script_a_first_load_of_the_inbox_fetches(page: Page, frontend: Frontend) -> None:
    """``npm run budget`` reads the build manifests; the browser is the truth it must not undercount."""
    budget = subprocess.run(
        ["node", "scripts/budget.mjs", "--json", "--budget-kb", "100000"],
        cwd=services.FRONTEND_DIR,
        env=tool_env({}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert budget.returncode == 0, budget.stderr
    counted = {row["file"] for row in json.loads(budget.stdout)["files"]}
    scripts: list[str] = []
    page.on("request", lambda request: scripts.append(request.url) if request.resource_type == "script" else None)
    page.goto("/")
    page.wait_for_load_state("networkidle")
    fetched = {url.split("/_next/", 1)[1].split("?", 1)[0] for url in scripts if "/_next/static/" in url}
    assert fetched, scripts
    assert fetched <= counted, f"fetched on first load but not counted: {sorted(fetched - counted)}"
