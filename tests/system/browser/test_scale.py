"""The web app with a person's whole system loaded: 10,000 tasks in bun-sqlite, in Chromium.

This module has its own stack (bun-sqlite on fresh data, the gateway twin, a
frontend server on the session's build), so the 10,000 tasks never show in
what the other browser tests see. The document is ``gtd_data.sample``'s, the
one bench-backends and bench-lighthouse import (issue #24).

Capture-to-visible is printed, not asserted (timing belongs to benchmarks):
from Enter to the row on screen (the optimistic one) and to the row the
server confirmed (``data-pending="false"``).
"""

from __future__ import annotations

import secrets
import statistics
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gtd_data.sample import document
from playwright.sync_api import Browser, Page, expect

from harness import services
from harness.process import free_port
from tests.support.processes import start_or_fail

from .conftest import BACKEND_DEADLINE_S, FRONTEND_DEADLINE_S, Frontend, p90, time_captures

TASKS = 10_000
CAPTURES = 10
PAGE_SIZE = 50


@pytest.fixture(scope="module")
def loaded_frontend(frontend_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Frontend]:
    """bun-sqlite holding ``TASKS`` imported tasks, behind its own gateway twin and frontend."""
    logs = tmp_path_factory.mktemp("scale-logs")
    started = [
        start_or_fail(
            services.bun_sqlite(free_port(), tmp_path_factory.mktemp("scale-bun-sqlite"), logs), BACKEND_DEADLINE_S
        )
    ]
    try:
        api_key = "scale-" + secrets.token_hex(16)
        gateway_port = free_port()
        settings = {
            "ENVIRONMENT": "local",
            "BACKEND_BUN_SQLITE_URL": started[0].health_url.removesuffix("/health"),
            "DEFAULT_BACKEND": "bun-sqlite",
            "API_KEY": api_key,
        }
        started.append(start_or_fail(services.twin(gateway_port, settings, logs / "gateway.log"), BACKEND_DEADLINE_S))
        gateway = f"http://127.0.0.1:{gateway_port}"
        headers = {"x-backend": "bun-sqlite", "x-api-key": api_key}
        response = httpx.post(f"{gateway}/import", json=document(TASKS), headers=headers, timeout=120)
        assert response.status_code == 200, response.text
        port = free_port()
        started.append(start_or_fail(services.frontend(port, gateway, logs, api_key=api_key), FRONTEND_DEADLINE_S))
        yield Frontend(f"http://127.0.0.1:{port}", started[-1])
    finally:
        for service in reversed(started):
            service.stop(grace_s=10)


@pytest.fixture
def loaded_page(browser: Browser, browser_context_args: dict[str, Any], loaded_frontend: Frontend) -> Iterator[Page]:
    context = browser.new_context(**{**browser_context_args, "base_url": loaded_frontend.url})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_capture_to_visible_with_ten_thousand_tasks(loaded_page: Page, capsys: pytest.CaptureFixture[str]) -> None:
    """Ten captures on the inbox each show, then are confirmed; the inbox stays one page. Times printed."""
    page = loaded_page
    page.goto("/")
    suffix = uuid.uuid4().hex[:8]
    titles = [f"Scale capture {n} {suffix}" for n in range(CAPTURES)]
    shown, confirmed = time_captures(page, titles)
    with capsys.disabled():
        print(
            f"\ncapture to visible with {TASKS:,} tasks (bun-sqlite, {CAPTURES} captures): "
            f"shown p50 {statistics.median(shown):.0f} ms (p90 {p90(shown):.0f} ms), "
            f"confirmed p50 {statistics.median(confirmed):.0f} ms (p90 {p90(confirmed):.0f} ms)"
        )

    # A fresh load: one page of the inbox, newest first, so every capture is on it.
    page.reload()
    expect(page.locator("li.task[data-task-id]")).to_have_count(PAGE_SIZE)
    for title in titles:
        expect(page.locator(f"li.task[data-task-id][data-title='{title}']")).to_be_visible()
    expect(page.get_by_test_id("show-more")).to_be_visible()
