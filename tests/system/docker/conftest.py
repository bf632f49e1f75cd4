"""The one compose stack every Docker test shares, and the run's summary.

The stack (engine + images + ``compose up``) takes minutes to build, so it is
started once per session and shared by test_compose.py and test_failures.py;
``test_down_and_cleanup_leave_nothing`` tears it down and checks the host, so
it is moved to the very end of the run whatever file order pytest collects.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

#: Runs last: it stops the shared stack and checks that nothing is left on the host.
TEARDOWN_TEST = "test_down_and_cleanup_leave_nothing"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [item for item in items if item.name == TEARDOWN_TEST]
    if last:
        items[:] = [item for item in items if item.name != TEARDOWN_TEST] + last


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> Any:
    """The running compose stack (test_compose.Stack), started once for the whole Docker suite."""
    from tests.system.docker import engine as engine_mod

    from .test_compose import TIMINGS_FILE, Stack

    timings = engine_mod.Timings()
    t0 = time.monotonic()
    st = Stack(timings)

    def finish() -> None:
        try:
            st.close()
        finally:
            extra = {
                "wall_seconds": round(time.monotonic() - t0, 2),
                "gateway_port": st.port,
                "frontend_port": st.frontend_port,
                "engine_version": getattr(st, "engine_version", None),
                "image_sizes": getattr(st, "sizes", None),
                "outages": getattr(st, "outages", None),
            }
            timings.write(TIMINGS_FILE, extra)
            request.config._gtd_docker_timings = {**timings.steps, **extra}  # type: ignore[attr-defined]

    request.addfinalizer(finish)
    try:
        st.start()
        st.engine_version = st.docker("version", "--format", "{{.Server.Version}}").strip()
        st.sizes = st.image_sizes()
    except Exception as exc:  # the engine or the stack not coming up is a failure, never a skip
        pytest.fail(f"docker stack did not start: {exc}\n--- dockerd log ---\n{st.engine.log_tail()}", pytrace=False)
    return st


@pytest.fixture(scope="session")
def chromium(stack: Any) -> Any:
    """Debian's Chromium (never a Playwright download), driven by Playwright; one for the whole Docker suite."""
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from .test_compose import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)", pytrace=False)
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            browser.close()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Prints the docker stack's step timings (and the outage figures) at the end of the run."""
    timings = getattr(config, "_gtd_docker_timings", None)
    if not timings:
        return
    outages = timings.pop("outages", None) or {}
    terminalreporter.section("docker stack timings (seconds)")
    for name, value in timings.items():
        terminalreporter.write_line(f"{name:>24}: {value}")
    if outages:
        terminalreporter.section("docker outage scenarios")
        for name, figures in outages.items():
            terminalreporter.write_line(f"{name:>24}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    terminalreporter.write_line("(also in .cache/docker-test-timings.json)")
