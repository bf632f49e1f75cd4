"""Failure, proven in a real browser: processes of a running stack killed and frozen (issue #20).

The stack is the one a user runs, ``python -m devstack`` (twin) and
``python -m devstack --gateway worker`` (the Worker on workerd), one launcher
per runtime for the whole module (tests/system/browser/stack.py), on free ports with
temporary data and short health timings. Each scenario hurts one real process
of it, found through the launcher's ``<data-dir>/run/services.json`` (or
PostgreSQL's ``postmaster.pid``), and nothing else:

    kill-backend    SIGKILL ruby-sqlite's server (its process group)
    freeze-backend  SIGSTOP ruby-sqlite's server, later SIGCONT
    stop-postgres   python-postgres's PostgreSQL: fast shutdown (SIGINT to the postmaster); twin only
    freeze-gateway  SIGSTOP the whole gateway (wrangler and workerd, for the Worker) for 10 s or more
    kill-gateway    SIGKILL the whole gateway

Where a scenario waits for the launcher to bring a service back (kill-*,
stop-postgres), the launcher itself is paused (SIGSTOP to its own pid, its
services run on) for the outage, so the outage lasts as long as it takes to
type three captures and reload the page, whatever the machine's speed; on
SIGCONT it finds the service gone and restarts it.

During the outage, in Chromium: three captures typed on the failed backend
(the gateway's default, bun-sqlite, when the gateway is the one stopped),
with a page reload after the second; a second browser context works on
another backend. After recovery the scenario's facts are checked one by one,
each by its own test: the other backends kept answering through the same
gateway (API and UI); the failed backend's dot turned unhealthy; the
captures were queued in the browser and then appear exactly once on their
backend, without a reload; the other backends' task lists are unchanged; the
launcher's other services kept their pids.

Each scenario runs once per runtime (the ``outcome`` fixture) and restores the
stack to healthy before the next. Measured per scenario and runtime (the table
printed at the end of the module and written as JSON to
``$GTD_FAILURE_REPORT``, default ``<pytest tmp>/failure-suite.json``): time to
red, time to recovery, time to delivery, captures queued → delivered,
duplicates (the JSON also has the launcher's lines during each scenario). Times are recorded, never asserted. With ``GTD_SCREENSHOTS=docs``
the twin's outage screens go to docs/screenshots/outage-<scenario>.png.

When any test of the module failed, each stack's data directory (its
services' logs, the launcher's ``logs/devstack-<runtime>.log``, screens of
what went wrong) is kept and its path printed at the end; a failure message
quotes what the launcher said during the scenario (exits, restarts).

    flock /tmp/gtd-frontend.lock .venv/bin/python -m pytest tests/system/browser/test_failures.py -x -q
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

from harness.process import ServiceError

from .stack import HEALTH_RETRY_S, LaunchedStack, Runtime, Timeout, poll, reachable_temp_dir

#: Margins over the configured timings: a loaded 2-core box, a check that times out (2 s), a render.
RED_DEADLINE_S = HEALTH_RETRY_S + 20
QUEUE_DEADLINE_S = 45  # one capture: the app's attempt fails (a 504 takes UPSTREAM_TIMEOUT_MS), then it is kept
RECOVERY_DEADLINE_S = 150  # the Worker's restart loads Pyodide again
DELIVERY_DEADLINE_S = 90
#: The gateway stays stopped at least this long (issue #20: "stop the whole gateway for 10 s").
GATEWAY_OUTAGE_S = 10
CAPTURES = 3
#: As the other browser suite's contexts (conftest.browser_context_args).
CONTEXT_ARGS: dict[str, Any] = {"viewport": {"width": 1280, "height": 860}, "locale": "en-GB"}


def killpg(pid: int, sig: signal.Signals) -> None:
    """Signal a service's process group (it is the group leader: the launcher starts each in its own)."""
    os.killpg(pid, sig)


# -- scenarios ---------------------------------------------------------------------


@dataclass
class Fault:
    """What a scenario did, so it can be undone."""

    end: Callable[[], None]
    #: Services whose pid may change (the ones the launcher restarts).
    restarted: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Scenario:
    name: str
    #: Where the captures go; ``down`` is the backend whose dot turns red (None: the gateway is down).
    target: str
    down: str | None
    begin: Callable[[LaunchedStack], Fault]
    runtimes: tuple[Runtime, ...] = ("twin", "worker")
    #: The least time the fault lasts.
    min_outage_s: float = 0.0
    #: A process dies and the launcher must start a new one (a frozen one resumes instead).
    kills: bool = False


def kill_backend(stack: LaunchedStack) -> Fault:
    pid = stack.pid("ruby-sqlite")
    stack.pause_launcher()
    killpg(pid, signal.SIGKILL)
    return Fault(stack.resume_launcher, frozenset({"ruby-sqlite"}))


def freeze_backend(stack: LaunchedStack) -> Fault:
    pid = stack.pid("ruby-sqlite")
    killpg(pid, signal.SIGSTOP)
    return Fault(lambda: killpg(pid, signal.SIGCONT))


def stop_postgres(stack: LaunchedStack) -> Fault:
    pid = stack.postmaster_pid()
    stack.pause_launcher()
    os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast shutdown"
    poll(lambda: not Path(f"/proc/{pid}").exists(), 30, "PostgreSQL's postmaster exited")
    return Fault(stack.resume_launcher, frozenset({"postgres"}))


def freeze_gateway(stack: LaunchedStack) -> Fault:
    pid = stack.pid("gateway")
    killpg(pid, signal.SIGSTOP)
    return Fault(lambda: killpg(pid, signal.SIGCONT))


def kill_gateway(stack: LaunchedStack) -> Fault:
    pid = stack.pid("gateway")
    stack.pause_launcher()
    killpg(pid, signal.SIGKILL)
    return Fault(stack.resume_launcher, frozenset({"gateway"}))


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("kill-backend", "ruby-sqlite", "ruby-sqlite", kill_backend, kills=True),
        Scenario("freeze-backend", "ruby-sqlite", "ruby-sqlite", freeze_backend),
        Scenario("stop-postgres", "python-postgres", "python-postgres", stop_postgres, runtimes=("twin",), kills=True),
        Scenario("freeze-gateway", "bun-sqlite", None, freeze_gateway, min_outage_s=GATEWAY_OUTAGE_S),
        Scenario("kill-gateway", "bun-sqlite", None, kill_gateway, min_outage_s=GATEWAY_OUTAGE_S, kills=True),
    )
}


# -- what a scenario observed --------------------------------------------------------


@dataclass
class Outcome:
    runtime: str
    scenario: str
    target: str
    titles: list[str] = field(default_factory=list)
    #: Seconds from the fault: the gateway shows the backend unhealthy (or stops answering); the app's dot.
    red_s: float | None = None
    dot_red_s: float | None = None
    dot_red_after_reload_s: float | None = None
    #: Per other backend: answered 200 through the gateway during the outage (API), and in the app.
    others_answered: dict[str, bool] = field(default_factory=dict)
    other_in_app: bool | None = None
    #: The browser's outbox after the third capture (after a reload in between), and for the target.
    queued: int | None = None
    queued_after_reload: int | None = None
    #: Seconds from the end of the fault until the gateway shows it healthy again; until the outbox is empty.
    recovery_s: float | None = None
    delivered_s: float | None = None
    #: How often each capture's title is on its backend afterwards, and shown as a (not queued) task.
    on_backend: dict[str, int] | None = None
    in_app: dict[str, int] | None = None
    others_before: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    others_after: dict[str, list[dict[str, Any]]] | None = None
    pids_before: dict[str, int | None] = field(default_factory=dict)
    pids_after: dict[str, int | None] | None = None
    restarted: list[str] = field(default_factory=list)
    #: The launcher's own lines (exits, restarts) from the arrange step to the end of the scenario.
    launcher_said: list[str] = field(default_factory=list)
    #: The first thing that did not happen in time, if any (the rest was not measured), and where.
    error: str | None = None
    step: str = "start"
    #: Why each fact that was not observed was not (its expectation's first line), by fact.
    misses: dict[str, str] = field(default_factory=dict)
    #: Where screens of what went wrong are saved (kept with the stack's data when anything did).
    evidence: Path = Path()

    def why(self) -> str:
        """What the tests say when a fact is missing."""
        return "; ".join(f"{fact}: {why}" for fact, why in {**self.misses, "stopped at": self.error}.items() if why)

    def row(self) -> dict[str, Any]:
        """The report's row: times rounded, captures queued → delivered, duplicates."""
        counts = self.on_backend or {}
        return {
            "runtime": self.runtime,
            "scenario": self.scenario,
            "time_to_red_s": _round(self.red_s),
            "time_to_red_in_app_s": _round(self.dot_red_s),
            "time_to_red_in_app_after_reload_s": _round(self.dot_red_after_reload_s),
            "time_to_recovery_s": _round(self.recovery_s),
            "time_to_delivery_s": _round(self.delivered_s),
            "captures": len(self.titles),
            "queued": self.queued,
            "delivered": sum(1 for n in counts.values() if n >= 1) if self.on_backend is not None else None,
            "duplicates": sum(n - 1 for n in counts.values() if n > 1) if self.on_backend is not None else None,
            "error": self.error,
            "not_observed": self.misses,
            "launcher_said": self.launcher_said,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- the browser -----------------------------------------------------------------------


def use_backend(page: Page, backend: str) -> None:
    button = page.locator(f"button.backend[data-backend='{backend}']")
    with page.expect_response(lambda r: r.request.method == "POST"):
        button.click()
    expect(button).to_have_attribute("aria-pressed", "true")


def type_capture(page: Page, title: str) -> None:
    box = page.get_by_label("Capture to inbox")
    box.fill(title)
    box.press("Enter")


def outbox_count(page: Page, backend: str | None = None) -> int:
    """The app's count of captures waiting (0 when it shows no outbox)."""
    if backend is None:
        selector = "[data-testid='outbox']"
    else:
        selector = f"[data-testid='outbox-backend'][data-backend='{backend}']"
    # One read in the page: the outbox may empty between a count() and a get_attribute().
    value = page.evaluate("(s) => document.querySelector(s)?.getAttribute('data-count') ?? '0'", selector)
    return int(value or "0")


def queued(page: Page, title: str) -> Locator:
    """The capture as the outbox shows it while it waits."""
    return page.locator(f"li.task[data-queued='true'][data-title='{title}']")


def delivered(page: Page, title: str) -> Locator:
    """The capture as a task the backend returned (the outbox's own items have no id)."""
    return page.locator(f"li.task[data-task-id][data-title='{title}']")


# -- fixtures ----------------------------------------------------------------------------


TABLE: list[dict[str, Any]] = []


@pytest.fixture(scope="module", autouse=True)
def failure_table(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """At the end of the module: the measurements as a table on the terminal and as JSON."""
    yield
    if not TABLE:
        return
    path = Path(os.environ.get("GTD_FAILURE_REPORT") or tmp_path_factory.getbasetemp() / "failure-suite.json")
    path.write_text(json.dumps(TABLE, indent=2) + "\n", encoding="utf-8")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    assert capture is not None
    with capture.global_and_fixture_disabled():
        print("\n" + format_table(TABLE) + f"\n(JSON: {path})")


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (
        "runtime",
        "scenario",
        "red s",
        "red in app s",
        "(after reload)",
        "recovery s",
        "delivery s",
        "queued → delivered",
        "dups",
    )
    lines = [head]
    for row in rows:
        lines.append(
            (
                row["runtime"],
                row["scenario"],
                _cell(row["time_to_red_s"]),
                _cell(row["time_to_red_in_app_s"]),
                _cell(row["time_to_red_in_app_after_reload_s"]),
                _cell(row["time_to_recovery_s"]),
                _cell(row["time_to_delivery_s"]),
                f"{_cell(row['queued'])} → {_cell(row['delivered'])}",
                _cell(row["duplicates"]),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in lines]
    errors = [f"  {row['runtime']}/{row['scenario']}: {row['error']}" for row in rows if row["error"]]
    return "\n".join(["Failure suite (issue #20)", *text, *(["Not measured past:", *errors] if errors else [])])


def _cell(value: object) -> str:
    return "–" if value is None else str(value)


class Stacks:
    """One launcher at a time (two would share two cores with everything else): asking for the
    other runtime stops the running one. Each stop is SIGTERM, and its exit status is kept.

    A stopped stack's data directory is removed only when it stopped cleanly and nothing
    went wrong: no scenario error or miss, and no failed test (``tests_failed``, counted
    by pytest since the module began)."""

    def __init__(self, tests_failed: Callable[[], int] = lambda: 0) -> None:
        self.current: LaunchedStack | None = None
        self.failed: dict[str, str] = {}
        self.stopped: dict[str, int | None] = {}
        self.kept: list[Path] = []
        self.tests_failed = tests_failed

    def get(self, runtime: Runtime) -> LaunchedStack:
        if self.current is not None and self.current.runtime == runtime:
            return self.current
        self.close()
        if runtime in self.failed:  # do not pay for a start that failed once already
            pytest.fail(self.failed[runtime], pytrace=False)
        data_dir = reachable_temp_dir(f"gtd-failures-{runtime}-")
        try:
            self.current = LaunchedStack.start(runtime, data_dir, data_dir / "logs")
        except ServiceError as exc:
            self.failed[runtime] = str(exc)
            self.kept.append(data_dir)
            pytest.fail(str(exc), pytrace=False)
        return self.current

    def close(self, *, keep: bool = False) -> None:
        stack, self.current = self.current, None
        if stack is None:
            return
        self.stopped[stack.runtime] = stack.stop()
        clean = (
            not keep
            and self.stopped[stack.runtime] == 0
            and self.tests_failed() == 0
            and not any(row["error"] or row["not_observed"] for row in TABLE)
        )
        if clean:
            shutil.rmtree(stack.data_dir, ignore_errors=True)
        else:
            self.kept.append(stack.data_dir)  # its services' logs, for whoever reads the failure


@pytest.fixture(scope="module")
def stacks(request: pytest.FixtureRequest, frontend_build: Path) -> Iterator[Stacks]:
    """The launchers of the module; at the end each must have stopped cleanly (exit 0) on SIGTERM."""
    session = request.session
    failed_before = session.testsfailed
    held = Stacks(lambda: session.testsfailed - failed_before)
    try:
        yield held
    finally:
        held.close()
        if held.kept:
            capture = request.config.pluginmanager.getplugin("capturemanager")
            assert capture is not None
            with capture.global_and_fixture_disabled():  # shown whether or not the last test failed
                print(f"\nfailure suite: data and logs kept for inspection in {', '.join(map(str, held.kept))}")
    assert all(status == 0 for status in held.stopped.values()), (
        f"python -m devstack on SIGTERM exited with {held.stopped}; logs in {held.kept}"
    )


#: Scenario by runtime, one runtime after the other (each scenario once; the fixture's cache keeps it).
CASES = [(runtime, name) for runtime in ("twin", "worker") for name, s in SCENARIOS.items() if runtime in s.runtimes]


@pytest.fixture(scope="module", params=CASES, ids=[f"{runtime}-{name}" for runtime, name in CASES])
def outcome(request: pytest.FixtureRequest, stacks: Stacks, browser: Browser) -> Outcome:
    """Run one scenario on one runtime's stack (once), restore the stack, and return what was seen."""
    runtime, name = request.param
    scenario = SCENARIOS[name]
    stack = stacks.get(runtime)
    screenshots: Path = request.getfixturevalue("screenshots")
    result = Outcome(stack.runtime, scenario.name, scenario.target, evidence=stack.data_dir / "logs")
    try:
        run_scenario(scenario, stack, browser, result, screenshots)
    except (AssertionError, PlaywrightError) as exc:  # a poll, an expect() or a navigation that timed out
        result.error = f"{result.step}: {str(exc).splitlines()[0]}"
    finally:
        TABLE.append(result.row())
    # The next scenario starts from a healthy stack; one that cannot be restored is replaced.
    try:
        stack.resume_launcher()
        stack.wait_all_healthy(RECOVERY_DEADLINE_S)
        poll(
            lambda: all(entry["state"] == "up" for entry in stack.services().values()),
            RECOVERY_DEADLINE_S,
            "every service up in services.json",
        )
    except Timeout:
        stacks.close(keep=True)
        raise
    return result


def run_scenario(
    scenario: Scenario,
    stack: LaunchedStack,
    browser: Browser,
    result: Outcome,
    screenshots: Path,
) -> None:
    """Arrange, hurt, capture during the outage, undo, and record each fact in ``result``."""
    others = [backend for backend in stack.backend_ids() if backend != scenario.target]
    witness = "bun-sqlite" if scenario.target != "bun-sqlite" else "cf-d1"
    suffix = uuid.uuid4().hex[:6]
    result.titles = [f"Outage {scenario.name} {n} {suffix}" for n in range(1, CAPTURES + 1)]
    # Not pytest-playwright's browser_context_args: it wants conftest's base_url, whose frontend
    # would start the other browser suite's stack.
    user = browser.new_context(**CONTEXT_ARGS, base_url=stack.frontend_url)
    other = browser.new_context(**CONTEXT_ARGS, base_url=stack.frontend_url)
    page = user.new_page()
    said_from = stack.log_size()
    try:
        result.step = "arrange"
        page.goto("/")
        use_backend(page, scenario.target)
        expect(page.locator(f"button.backend[data-backend='{scenario.target}']")).to_have_attribute(
            "data-health", "healthy"
        )
        result.others_before = {backend: stack.tasks(backend) for backend in others}
        result.pids_before = stack.pids()

        started = time.monotonic()
        fault = scenario.begin(stack)
        result.restarted = sorted(fault.restarted)
        try:
            result.step = "red"
            if scenario.down is not None:
                down = scenario.down
                _, result.red_s = poll(lambda: stack.health(down) == "unhealthy", RED_DEADLINE_S, f"{down} unhealthy")
            else:
                _, result.red_s = poll(lambda: stack.health(witness) is None, RED_DEADLINE_S, "the gateway silent")

            result.step = "capture 1 kept in the outbox"
            type_capture(page, result.titles[0])
            expect(queued(page, result.titles[0])).to_be_visible(timeout=QUEUE_DEADLINE_S * 1000)
            dot = page.locator(f"button.backend[data-backend='{scenario.down}']")
            if scenario.down is not None:
                # The page as it is (no reload), then the rest of the stack, through the same gateway.
                result.dot_red_s = observed(
                    lambda: expect(dot).to_have_attribute("data-health", "unhealthy", timeout=RED_DEADLINE_S * 1000),
                    started,
                    "dot red without a reload",
                    result,
                    page,
                )
                result.others_answered = {backend: stack.answers(backend) for backend in others}
                other_page = other.new_page()
                result.other_in_app = (
                    observed(
                        lambda: other_backend_works(other_page, witness),
                        started,
                        "other backend in app",
                        result,
                        other_page,
                    )
                    is not None
                )
            result.step = "capture 2 kept in the outbox"
            type_capture(page, result.titles[1])
            expect(queued(page, result.titles[1])).to_be_visible(timeout=QUEUE_DEADLINE_S * 1000)

            # The queue lives in the browser, not in the page. (With the gateway stopped the
            # server render waits for the app's 15 s gateway timeout.)
            result.step = "captures 1-2 shown after a reload"
            page.reload(timeout=60_000)
            for title in result.titles[:2]:
                expect(queued(page, title)).to_be_visible()
            result.queued_after_reload = outbox_count(page)
            if scenario.down is not None:
                result.dot_red_after_reload_s = observed(
                    lambda: expect(dot).to_have_attribute("data-health", "unhealthy", timeout=RED_DEADLINE_S * 1000),
                    started,
                    "dot red after a reload",
                    result,
                    page,
                )

            result.step = "capture 3 kept in the outbox"
            type_capture(page, result.titles[2])
            expect(queued(page, result.titles[2])).to_be_visible(timeout=QUEUE_DEADLINE_S * 1000)
            expect(page.locator("[data-testid='outbox']")).to_have_attribute("data-count", str(CAPTURES))
            result.queued = outbox_count(page, scenario.target)
            if stack.runtime == "twin":
                page.screenshot(path=str(screenshots / f"outage-{scenario.name}.png"), full_page=True)
            left = scenario.min_outage_s - (time.monotonic() - started)
            if left > 0:
                time.sleep(left)  # the outage's length is the scenario (not a wait for an event)
        finally:
            ended = time.monotonic()
            fault.end()

        result.step = "recovery"
        if scenario.down is not None:
            down = scenario.down
            _, result.recovery_s = poll(lambda: stack.health(down) == "healthy", RECOVERY_DEADLINE_S, f"{down} healthy")
        else:
            _, result.recovery_s = poll(
                lambda: stack.health(scenario.target) == "healthy", RECOVERY_DEADLINE_S, "the gateway back"
            )
        # Delivered by the app itself: no reload.
        result.step = "delivery"
        poll(lambda: outbox_count(page) == 0 or None, DELIVERY_DEADLINE_S, "the outbox empty")
        result.delivered_s = time.monotonic() - ended
        titles = [t["title"] for t in stack.tasks(scenario.target)]
        result.on_backend = {title: titles.count(title) for title in result.titles}
        for title in result.titles:
            expect(delivered(page, title)).to_have_count(1)
        result.in_app = {title: delivered(page, title).count() for title in result.titles}
        result.step = "after"
        result.others_after = {backend: stack.tasks(backend) for backend in others}
        poll(lambda: all(e["state"] == "up" for e in stack.services().values()), RECOVERY_DEADLINE_S, "all up")
        result.pids_after = stack.pids()
    except (AssertionError, PlaywrightError):
        with contextlib.suppress(PlaywrightError):
            page.screenshot(path=str(result.evidence / f"failed-{stack.runtime}-{scenario.name}.png"), full_page=True)
        raise
    finally:
        result.launcher_said = stack.said_since(said_from)
        user.close()
        other.close()


def other_backend_works(page: Page, backend: str) -> None:
    """A second user, on another backend, during the outage: healthy, the board shows, no error panel."""
    page.goto("/")
    use_backend(page, backend)
    expect(page.locator(f"button.backend[data-backend='{backend}']")).to_have_attribute("data-health", "healthy")
    expect(page.get_by_label("Capture to inbox")).to_be_visible()
    expect(page.get_by_test_id("task-list").or_(page.get_by_test_id("empty"))).to_be_visible()
    expect(page.get_by_test_id("error-panel")).to_have_count(0)


def observed(check: Callable[[], None], since: float, fact: str, result: Outcome, page: Page) -> float | None:
    """Seconds from ``since`` until ``check`` (expect()s, each with its own deadline) passed; None if it did not.

    For facts the next steps do not depend on: each is recorded, and asserted by its own test.
    """
    try:
        check()
    except (AssertionError, PlaywrightError) as exc:
        result.misses[fact] = str(exc).splitlines()[0]
        with contextlib.suppress(PlaywrightError):  # what the page showed instead, for whoever reads the miss
            page.screenshot(path=str(result.evidence / f"missed-{result.runtime}-{result.scenario}-{fact}.png"))
        return None
    return time.monotonic() - since


# -- the facts, one test each ---------------------------------------------------------------

Fact = TypeVar("Fact", bound=Callable[..., None])


def applies(predicate: Callable[[Scenario], bool]) -> Callable[[Fact], Fact]:
    """A fact that holds only for some scenarios: the others are deselected, never run as skips.

    (``tests/system/browser/conftest.py`` deselects a case whose ``outcome`` scenario the predicate refuses.)
    """

    def mark(test: Fact) -> Fact:
        test.applies = lambda case: predicate(SCENARIOS[case[1]])  # type: ignore[attr-defined]
        return test

    return mark


def gateway_up(scenario: Scenario) -> bool:
    """A backend is down, not the gateway: there is a gateway to answer for the others, and dots to show."""
    return scenario.down is not None


@applies(gateway_up)
def test_other_backends_keep_answering_through_the_same_gateway(outcome: Outcome) -> None:
    assert outcome.others_answered, outcome.why()
    assert all(outcome.others_answered.values()), outcome.others_answered


@applies(gateway_up)
def test_another_backend_stays_usable_in_the_app(outcome: Outcome) -> None:
    assert outcome.other_in_app is True, outcome.why()


def test_failed_backend_turns_unhealthy(outcome: Outcome) -> None:
    assert outcome.red_s is not None, outcome.why()


@applies(gateway_up)
def test_failed_backend_dot_turns_unhealthy_in_the_app(outcome: Outcome) -> None:
    assert outcome.dot_red_s is not None, outcome.why()


@applies(gateway_up)
def test_failed_backend_dot_is_unhealthy_after_a_reload(outcome: Outcome) -> None:
    assert outcome.dot_red_after_reload_s is not None, outcome.why()


def test_captures_are_kept_in_the_browser_across_a_reload(outcome: Outcome) -> None:
    assert outcome.queued_after_reload == CAPTURES - 1, outcome.why()
    assert outcome.queued == CAPTURES, outcome.why()


def test_stack_recovers(outcome: Outcome) -> None:
    assert outcome.recovery_s is not None, outcome.why()


def test_captures_arrive_exactly_once_on_their_backend(outcome: Outcome) -> None:
    assert outcome.on_backend == {title: 1 for title in outcome.titles}, outcome.why()


def test_captures_show_once_as_tasks_without_a_reload(outcome: Outcome) -> None:
    assert outcome.in_app == {title: 1 for title in outcome.titles}, outcome.why()


def test_other_backends_are_unchanged(outcome: Outcome) -> None:
    assert outcome.others_after is not None, outcome.why()
    assert outcome.others_after == outcome.others_before


def test_launcher_keeps_the_other_services_running(outcome: Outcome) -> None:
    assert outcome.pids_after is not None, outcome.why()
    kept = {name: pid for name, pid in outcome.pids_before.items() if name not in outcome.restarted}
    assert {name: outcome.pids_after.get(name) for name in kept} == kept, (
        f"the launcher said: {outcome.launcher_said}; logs in {outcome.evidence}"
    )


@applies(lambda scenario: scenario.kills)
def test_launcher_restarts_the_killed_service(outcome: Outcome) -> None:
    assert outcome.restarted, outcome.why()
    assert outcome.pids_after is not None, outcome.why()
    for name in outcome.restarted:
        assert outcome.pids_after[name] not in (None, outcome.pids_before[name]), name
