"""Failure scenarios on the running compose stack (issue #20, "the same scenarios in the Docker suite").

Each case takes one container down the way it happens in production, on the
stack test_compose.py started (the session's ``stack`` fixture, conftest.py):

- ``docker kill`` ruby-sqlite: the engine's restart policy is *not* applied
  (``docker kill`` disables it until the next start), so the test brings it
  back as an operator would, ``docker compose start ruby-sqlite``;
- ``docker pause`` ruby-sqlite (frozen: connections are accepted, nothing
  answers), then ``docker unpause``;
- ``docker kill`` postgres behind python-postgres, then ``docker compose start
  postgres``; python-postgres itself keeps running and reconnects;
- bun-sqlite's server process dies inside its container (SIGKILL from the
  host, a crash): tini exits, and ``restart: unless-stopped`` starts the
  container again with no operator.

In each: the other backends keep answering through the gateway; the gateway's
``/_gateway/backends`` shows the failed one unhealthy (polled, the time
recorded); three captures made during the outage, each a ``POST /tasks`` with
its own ``Idempotency-Key`` that the test retries until it succeeds (as the
web app's outbox does), are present exactly once afterwards; nothing changed
on the other backends; no other container was restarted. The figures (time to
red, time to recovery, queued -> delivered, duplicates) are printed at the end
of the run and written to .cache/docker-test-timings.json under ``outages``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Relative: the very module pytest collected (its API_KEY is the stack's), not a second copy of it.
from . import test_compose
from .test_compose import API_KEY, HEALTH_TTL_S, REPO, compose_bin

request_json = test_compose.http  # one request through the gateway on 127.0.0.1

#: A client's patience per attempt: a frozen backend must not hold each attempt
#: for the gateway's upstream timeout (30 s); the outbox retries anyway.
ATTEMPT_TIMEOUT_S = 3.0
#: Red is due within HEALTH_TTL_S + HEALTH_TIMEOUT_MS (2 s) of the fault, plus
#: one attempt in flight; the rest is margin for a loaded 2-core machine.
RED_DEADLINE_S = HEALTH_TTL_S + 2 + ATTEMPT_TIMEOUT_S + 30
#: A container (or PostgreSQL, then python-postgres's pool) coming back.
RECOVERY_DEADLINE_S = 120.0
POLL_S = 0.25  # the polling interval of the loops below (they wait for events, with a deadline)
CAPTURES = 3


# ---------------------------------------------------------------------------
# the stack, seen from outside


def backend_health(stack: Any) -> dict[str, str]:
    """Each backend's health as ``/_gateway/backends`` shows it (worst of its locations)."""
    status, body = request_json("GET", "/_gateway/backends", stack.port)
    assert status == 200, body
    shown: dict[str, str] = {}
    for entry in body["backends"]:
        states = {loc["health"]["status"] for loc in entry["locations"].values()}
        shown[entry["id"]] = "unhealthy" if "unhealthy" in states else "healthy" if states == {"healthy"} else "unknown"
    return shown


def await_healthy(stack: Any, backend: str, deadline_s: float = 90.0) -> None:
    """Traffic until the gateway lists ``backend`` healthy (a scenario starts from a green stack)."""
    deadline = time.monotonic() + deadline_s
    while True:
        request_json("GET", "/health", stack.port, backend=backend, timeout=ATTEMPT_TIMEOUT_S)
        if backend_health(stack).get(backend) == "healthy":
            return
        assert time.monotonic() < deadline, f"{backend} not healthy in /_gateway/backends after {deadline_s} s"
        time.sleep(POLL_S)


def status_of(stack: Any, path: str, backend: str) -> int:
    """The status of one GET through the gateway; 0 when no answer came within ATTEMPT_TIMEOUT_S."""
    try:
        return request_json("GET", path, stack.port, backend=backend, timeout=ATTEMPT_TIMEOUT_S)[0]
    except (OSError, http.client.HTTPException):
        return 0


def store_contents(stack: Any, backend: str) -> dict[str, Any]:
    """Everything a backend holds, read through the gateway."""
    contents = {}
    for path in ("/tasks", "/projects"):
        status, body = request_json("GET", path, stack.port, backend=backend)
        assert status == 200, (backend, path, body)
        contents[path] = body
    return contents


@dataclass(frozen=True)
class ContainerState:
    id: str
    started_at: str
    restart_count: int
    status: str


def containers(stack: Any) -> dict[str, ContainerState]:
    """Every container of the stack by service, running or not (``docker inspect``)."""
    ids = stack.compose("ps", "--all", "-q").stdout.decode().split()
    assert ids, "no containers"
    states = {}
    for info in json.loads(stack.docker("inspect", *ids)):
        service = info["Config"]["Labels"]["com.docker.compose.service"]
        state = info["State"]
        states[service] = ContainerState(info["Id"], state["StartedAt"], info["RestartCount"], state["Status"])
    return states


# ---------------------------------------------------------------------------
# captures with an Idempotency-Key, retried until they succeed


@dataclass
class Capture:
    title: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)  # 0 = no answer within ATTEMPT_TIMEOUT_S
    answer: dict[str, Any] | None = None  # the 2xx body, once delivered
    replayed: bool = False

    def attempt(self, port: int, backend: str) -> None:
        """One ``POST /tasks`` through the gateway with this capture's key (as the app's outbox sends it)."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/tasks",
            data=json.dumps({"title": self.title}).encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "x-api-key": API_KEY,
                "x-backend": backend,
                "idempotency-key": self.key,
            },
        )
        self.attempts += 1
        try:
            with urllib.request.urlopen(req, timeout=ATTEMPT_TIMEOUT_S) as resp:
                status, raw, replayed = resp.status, resp.read(), resp.headers.get("idempotent-replayed")
        except urllib.error.HTTPError as err:
            status, raw, replayed = err.code, err.read(), None
        except (OSError, http.client.HTTPException):  # refused, reset, timed out: no answer
            status, raw, replayed = 0, b"", None
        self.statuses.append(status)
        if 200 <= status < 300:
            self.answer = json.loads(raw)
            self.replayed = replayed == "true"


def attempt_all(stack: Any, backend: str, captures: list[Capture], pool: ThreadPoolExecutor) -> None:
    """One attempt of every capture not delivered yet, side by side (a frozen backend costs one timeout, not N)."""
    pending = [c for c in captures if c.answer is None]
    list(pool.map(lambda c: c.attempt(stack.port, backend), pending))


# ---------------------------------------------------------------------------
# the faults and the recoveries


def container_id(stack: Any, service: str) -> str:
    return containers(stack)[service].id


def docker(verb: str, service: str) -> Callable[[Any], None]:
    """``docker <verb>`` on the service's container, as a fault or its end.

    ``kill``: SIGKILL, and the engine then keeps it down until the next start; ``pause``: every
    process frozen (cgroup freezer) while its sockets still accept; ``unpause``: thawed.
    """

    def act(stack: Any) -> None:
        stack.docker(verb, container_id(stack, service))

    return act


def compose_start(service: str) -> Callable[[Any], None]:
    """What an operator runs after ``docker kill`` (``docker compose up -d`` would do as well)."""

    def recover(stack: Any) -> None:
        stack.compose("start", service)

    return recover


def kill_main_process(service: str) -> Callable[[Any], None]:
    """SIGKILL the service's own process (tini's only child) from the host: a crash, not a ``docker kill``."""

    def inject(stack: Any) -> None:
        init_pid = str(stack.inspect(container_id(stack, service))["State"]["Pid"])
        children = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    stat = (proc / "stat").read_text()
                except OSError:
                    continue
                if stat.rsplit(")", 1)[1].split()[1] == init_pid:  # field 4, after "pid (comm) state"
                    children.append(int(proc.name))
        assert len(children) == 1, f"{service}: tini should have one child, has {children}"
        os.kill(children[0], signal.SIGKILL)

    return inject


@dataclass(frozen=True)
class Outage:
    service: str  # the container the fault hits
    backend: str  # the backend that fails because of it
    inject: Callable[[Any], None]
    recover: Callable[[Any], None] | None  # None: the engine brings it back by itself
    restarted: frozenset[str]  # services whose container starts anew (no other may)
    engine_restarts: int  # what the restart policy adds to the container's RestartCount
    down_states: frozenset[str]  # the failed container's status while the backend is shown red


OUTAGES = {
    "kill-ruby-sqlite": Outage(
        "ruby-sqlite",
        "ruby-sqlite",
        docker("kill", "ruby-sqlite"),
        compose_start("ruby-sqlite"),
        restarted=frozenset({"ruby-sqlite"}),
        engine_restarts=0,
        down_states=frozenset({"exited"}),
    ),
    "pause-ruby-sqlite": Outage(
        "ruby-sqlite",
        "ruby-sqlite",
        docker("pause", "ruby-sqlite"),
        docker("unpause", "ruby-sqlite"),
        restarted=frozenset(),
        engine_restarts=0,
        down_states=frozenset({"paused"}),
    ),
    "kill-postgres": Outage(
        "postgres",
        "python-postgres",
        docker("kill", "postgres"),
        compose_start("postgres"),
        restarted=frozenset({"postgres"}),
        engine_restarts=0,
        down_states=frozenset({"exited"}),
    ),
    # The engine may have restarted it already by the time red is seen.
    "crash-bun-sqlite": Outage(
        "bun-sqlite",
        "bun-sqlite",
        kill_main_process("bun-sqlite"),
        None,
        restarted=frozenset({"bun-sqlite"}),
        engine_restarts=1,
        down_states=frozenset({"exited", "restarting", "running"}),
    ),
}


# ---------------------------------------------------------------------------
# one run per scenario; the tests below each check one thing it must show


@dataclass
class Run:
    """What one scenario saw: times in seconds, ``to_red`` since the fault, the others since the recovery step."""

    name: str
    outage: Outage
    captures: list[Capture]
    others: list[str]
    before: dict[str, Any]
    before_containers: dict[str, ContainerState]
    to_red: float | None = None
    others_answered: dict[str, int] = field(default_factory=dict)
    down_state: ContainerState | None = None  # the failed container when red was seen
    answered_in_outage: list[str] = field(default_factory=list)  # captures that got a 2xx before recovery
    recovery_step_at: float | None = None
    to_green: float | None = None
    delivered: float | None = None
    after: dict[str, Any] = field(default_factory=dict)
    after_containers: dict[str, ContainerState] = field(default_factory=dict)
    found: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: The logs of the containers that changed although the scenario did not touch them (saved
    #: here: ``compose down`` at the end of the suite removes them with the containers).
    logs: Path | None = None

    def figures(self) -> dict[str, Any]:
        return {
            "to_red_s": self.to_red,
            "recovery_step_at_s": self.recovery_step_at,
            "to_green_s": self.to_green,
            "delivered_s": self.delivered,
            "queued": len(self.captures),
            "delivered": sum(len(rows) == 1 for rows in self.found.values()),
            "duplicates": sum(max(0, len(rows) - 1) for rows in self.found.values()),
            "attempts": sum(c.attempts for c in self.captures),
            "replayed": sum(c.replayed for c in self.captures),
        }


def observe_outage(stack: Any, run: Run, pool: ThreadPoolExecutor) -> None:
    """Fault in; captures retried until the backend is shown red (or the deadline); the others asked."""
    outage = run.outage
    t0 = time.monotonic()
    outage.inject(stack)
    deadline = t0 + RED_DEADLINE_S
    while time.monotonic() < deadline:
        attempt_all(stack, outage.backend, run.captures, pool)
        if backend_health(stack)[outage.backend] == "unhealthy":
            run.to_red = round(time.monotonic() - t0, 2)
            break
        time.sleep(POLL_S)
    for backend in run.others:
        run.others_answered[backend] = status_of(stack, "/tasks", backend)
    run.down_state = containers(stack)[outage.service]
    run.answered_in_outage = [c.title for c in run.captures if c.answer is not None]
    run.recovery_step_at = round(time.monotonic() - t0, 2)


def observe_recovery(stack: Any, run: Run, pool: ThreadPoolExecutor) -> None:
    """The recovery step (none for a crash), then retries until every capture is delivered and red turns green."""
    outage = run.outage
    t_rec = time.monotonic()
    if outage.recover is not None:
        outage.recover(stack)
    deadline = t_rec + RECOVERY_DEADLINE_S
    while time.monotonic() < deadline:
        attempt_all(stack, outage.backend, run.captures, pool)
        if run.delivered is None and all(c.answer is not None for c in run.captures):
            run.delivered = round(time.monotonic() - t_rec, 2)
        if run.to_green is None and backend_health(stack)[outage.backend] == "healthy":
            run.to_green = round(time.monotonic() - t_rec, 2)
        if run.to_green is not None and run.delivered is not None:
            return
        time.sleep(POLL_S)


@pytest.fixture(scope="module", params=list(OUTAGES))
def outage_run(request: pytest.FixtureRequest, stack: Any) -> Run:
    """Runs one scenario against the shared stack and records its figures on ``stack.outages``."""
    name = request.param
    outage = OUTAGES[name]
    await_healthy(stack, outage.backend)
    others = sorted(set(backend_health(stack)) - {outage.backend})
    tag = uuid.uuid4().hex[:8]
    run = Run(
        name,
        outage,
        captures=[Capture(f"{name} outage capture {i} {tag}") for i in range(1, CAPTURES + 1)],
        others=others,
        before={backend: store_contents(stack, backend) for backend in others},
        before_containers=containers(stack),
    )
    with ThreadPoolExecutor(CAPTURES) as pool:
        try:
            observe_outage(stack, run, pool)
        finally:  # even after an error: recover, so the next scenario starts from a whole stack
            observe_recovery(stack, run, pool)
    if run.to_green is None or run.delivered is None:  # not back by itself: leave a whole stack behind
        stack.compose("up", "-d", "--wait", "--wait-timeout", "120", check=False)
    run.after = {backend: store_contents(stack, backend) for backend in others}
    run.after_containers = containers(stack)
    changed = sorted(
        s
        for s in set(run.before_containers) - outage.restarted
        if run.after_containers.get(s) != run.before_containers[s]
    )
    if changed:
        run.logs = REPO / ".cache" / "docker-failure-logs" / f"{name}.log"
        run.logs.parent.mkdir(parents=True, exist_ok=True)
        run.logs.write_bytes(stack.compose("logs", "--no-color", "--timestamps", *changed, check=False).stdout)
    listing = store_contents(stack, outage.backend)["/tasks"]["tasks"]
    run.found = {c.title: [t for t in listing if t["title"] == c.title] for c in run.captures}
    if not hasattr(stack, "outages"):
        stack.outages = {}
    stack.outages[name] = run.figures()
    print(f"{name}: {run.figures()}")
    return run


def test_the_failed_backend_is_shown_unhealthy(outage_run: Run) -> None:
    assert outage_run.to_red is not None, f"not shown unhealthy within {RED_DEADLINE_S} s"


def test_the_failed_container_is_down_while_shown_unhealthy(outage_run: Run) -> None:
    """``docker kill``: exited, not restarting (the restart policy is off until the next start); pause: paused."""
    assert outage_run.down_state is not None
    assert outage_run.down_state.status in outage_run.outage.down_states, outage_run.down_state


def test_the_other_backends_keep_answering_during_the_outage(outage_run: Run) -> None:
    assert outage_run.others, "no other backend to ask"
    assert outage_run.others_answered == dict.fromkeys(outage_run.others, 200)


def test_captures_made_during_the_outage_were_not_answered_at_once(outage_run: Run) -> None:
    """They really were made during the outage: each first attempt failed, so the client had to keep them."""
    assert outage_run.answered_in_outage == []
    assert all(c.statuses[0] not in range(200, 300) for c in outage_run.captures), [
        c.statuses for c in outage_run.captures
    ]


def test_the_backend_recovers(outage_run: Run) -> None:
    assert outage_run.to_green is not None, f"not shown healthy {RECOVERY_DEADLINE_S} s after the recovery step"


def test_every_capture_is_delivered_after_recovery(outage_run: Run) -> None:
    statuses = {c.title: c.statuses for c in outage_run.captures}
    assert outage_run.delivered is not None, statuses


def test_each_capture_made_during_the_outage_is_present_exactly_once(outage_run: Run) -> None:
    found = outage_run.found
    assert {title: len(rows) for title, rows in found.items()} == dict.fromkeys(found, 1), outage_run.figures()


def test_the_answer_the_client_kept_is_the_stored_task(outage_run: Run) -> None:
    """A replayed answer (``Idempotent-Replayed: true``) names the one row, like a first answer."""
    stored = {title: [row["id"] for row in rows] for title, rows in outage_run.found.items()}
    answered = {c.title: [c.answer["id"]] if c.answer else [] for c in outage_run.captures}
    assert answered == stored


def test_nothing_changed_on_the_other_backends(outage_run: Run) -> None:
    assert outage_run.after == outage_run.before


def test_no_other_container_was_restarted(outage_run: Run) -> None:
    before, after = outage_run.before_containers, outage_run.after_containers
    untouched = sorted(set(before) - outage_run.outage.restarted)
    assert sorted(after) == sorted(before)
    assert {s: after[s] for s in untouched} == {s: before[s] for s in untouched}, f"their logs: {outage_run.logs}"


def test_the_failed_container_runs_again_in_place(outage_run: Run) -> None:
    """The same container (its volume, its name), started anew; RestartCount grows only for a crash."""
    outage = outage_run.outage
    before = outage_run.before_containers[outage.service]
    after = outage_run.after_containers[outage.service]
    assert after.id == before.id and after.status == "running", after
    assert after.restart_count - before.restart_count == outage.engine_restarts, (before, after)
    assert (after.started_at != before.started_at) == (outage.service in outage.restarted), (before, after)


# -- the same through the web app's published port, in a real browser ---------------


def await_shown(stack: Any, backend: str, health: str) -> float:
    """Seconds until ``/_gateway/backends`` shows ``backend`` as ``health`` (traffic to it meanwhile)."""
    t0 = time.monotonic()
    deadline = t0 + RECOVERY_DEADLINE_S
    while True:
        status_of(stack, "/health", backend)
        if backend_health(stack).get(backend) == health:
            return round(time.monotonic() - t0, 2)
        assert time.monotonic() < deadline, f"{backend} not shown {health} after {RECOVERY_DEADLINE_S} s"
        time.sleep(POLL_S)


def test_a_capture_queued_in_the_page_during_an_outage_is_delivered_once(stack: Any, chromium: Any) -> None:
    """``docker kill`` ruby-sqlite with the app open on it: the capture waits in the browser, then lands once."""
    from playwright.sync_api import expect

    backend = "ruby-sqlite"
    title = f"queued in the page {uuid.uuid4().hex[:8]}"
    await_healthy(stack, backend)
    context = chromium.new_context(base_url=f"http://127.0.0.1:{stack.frontend_port}")
    try:
        page = context.new_page()
        page.goto("/")
        choice = page.locator(f"button.backend[data-backend='{backend}']")
        with page.expect_response(lambda r: r.request.method == "POST"):
            choice.click()  # a form posting to a Server Action; the choice goes into a cookie
        expect(choice).to_have_attribute("aria-pressed", "true")
        t0 = time.monotonic()
        docker("kill", backend)(stack)
        try:
            await_shown(stack, backend, "unhealthy")
            box = page.get_by_label("Capture to inbox")
            box.fill(title)
            box.press("Enter")
            waiting = page.locator(f"li.task[data-queued='true'][data-backend='{backend}'][data-title='{title}']")
            expect(waiting).to_be_visible(timeout=30_000)
            expect(page.get_by_test_id("outbox")).to_have_attribute("data-count", "1")
        finally:
            t_rec = time.monotonic()
            compose_start(backend)(stack)
        # sent by the page itself (no reload) once the backend answers again
        expect(page.get_by_test_id("outbox")).to_have_count(0, timeout=int(RECOVERY_DEADLINE_S * 1000))
        delivered = round(time.monotonic() - t_rec, 2)
        expect(page.locator(f"li.task[data-task-id][data-title='{title}']")).to_have_count(1)
    finally:
        context.close()
    listing = store_contents(stack, backend)["/tasks"]["tasks"]
    copies = [t for t in listing if t["title"] == title]
    if not hasattr(stack, "outages"):
        stack.outages = {}
    stack.outages["page-kill-ruby-sqlite"] = {
        "outage_s": round(t_rec - t0, 2),
        "delivered_s": delivered,
        "queued": 1,
        "delivered": int(len(copies) == 1),
        "duplicates": max(0, len(copies) - 1),
    }
    assert len(copies) == 1, copies


def test_compose_passes_the_health_windows_and_a_restart_policy(tmp_path: Path) -> None:
    """Static (no engine): HEALTH_TTL_S / HEALTH_RETRY_S reach the gateway; every service restarts unless stopped."""
    env = dict(os.environ, DOCKER_CONFIG=str(tmp_path), HEALTH_TTL_S="7", HEALTH_RETRY_S="2")
    proc = subprocess.run(
        [compose_bin(), "-f", str(REPO / "docker-compose.yml"), "config", "--format", "json"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    services = json.loads(proc.stdout)["services"]
    gateway_env = services["gateway"]["environment"]
    assert (gateway_env["HEALTH_TTL_S"], gateway_env["HEALTH_RETRY_S"]) == ("7", "2")
    assert {name: svc.get("restart") for name, svc in services.items()} == dict.fromkeys(services, "unless-stopped")
