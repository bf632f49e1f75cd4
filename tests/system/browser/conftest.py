"""Fixtures for the browser suite: frontend → gateway → both backends, in Chromium.

Everything runs on free ports with temporary data and is stopped at the end
(each service in its own process group):

    bun-sqlite   devstack's recipes (the ones `make run` uses)
    cf-d1        wrangler dev --local, migrations applied
    gateway      python -m local_runner with API_KEY set, HEALTH_TTL_S=1,
                 HEALTH_RETRY_S=1, and cf-d1 registered at both locations
                 (cloud = the same local server: loopback http is allowed)
    frontend     frontend/.next/standalone/server.js (GATEWAY_URL, API_KEY)

and, for the flows that also run against the Worker (the ``app`` fixture,
parametrised over ``twin`` and ``worker``), a second gateway and frontend on
the same two backends:

    worker       the gateway Worker (src/entry.py) under ``wrangler dev`` on real
                 workerd (devstack's ``services.worker``), ENVIRONMENT=cloud, the
                 same API_KEY and health timings, rate limiting off; its backends
                 (bun-sqlite and cf-d1, each one cloud entry) pushed into
                 wrangler's local KV by ``gateway-registry push --local``
    frontend     a second standalone server whose GATEWAY_URL is the Worker

The Worker and its frontend start only when the first ``worker`` case runs
(``-k twin`` never starts them).

The services are started one by one through devstack's recipes rather than as
one ``python -m devstack`` process because the suite stops and restarts a
single backend (devstack treats any service exiting as fatal and stops all).

The frontend is built (``npm run build``; ``npm ci`` first when
frontend/node_modules is missing) when its standalone output is missing or
older than a source file. ``FRONTEND_SKIP_BUILD=1`` refuses to build and fails
with a message instead.

The browser is Debian's Chromium (``apt-get install chromium``), never a
Playwright download: ``browser_type_launch_args`` points at it.
"""

from __future__ import annotations

import math
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from harness import services
from harness.process import REPO, Service, ServiceError, free_port
from tests.support.processes import WORKER_START_S, start_or_fail

FRONTEND = REPO / "frontend"
SCREENSHOTS = REPO / "docs" / "screenshots"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BACKEND_DEADLINE_S = 30
WRANGLER_DEADLINE_S = 90
FRONTEND_DEADLINE_S = 30
WORKER_DEADLINE_S = WORKER_START_S
#: The display names both gateways give the backends (the twin's settings, the Worker's registry).
BACKEND_NAMES = {"bun-sqlite": "Bun + SQLite", "cf-d1": "Cloudflare D1"}


# -- the browser ---------------------------------------------------------------

# Waits, not timing checks: on a loaded 2-core machine a server action plus a
# revalidation can take several seconds; 5 s (Playwright's default) made the suite flaky.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (never `playwright install`)", pytrace=False)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}, "locale": "en-GB"}


# -- the stack -----------------------------------------------------------------


@dataclass
class Stack:
    logs: Path
    api_key: str
    gateway_url: str
    bun: Service
    d1: Service
    d1_port: int
    d1_persist: Path
    gateway: Service
    inspector_port: int

    def stop_cf_d1(self) -> None:
        self.d1.stop(grace_s=10)

    def start_cf_d1(self) -> None:
        self.d1 = start_or_fail(
            services.cf_d1(self.d1_port, self.d1_persist, self.logs, inspector_port=self.inspector_port),
            WRANGLER_DEADLINE_S,
        )

    def api(self, backend: str) -> httpx.Client:
        """A direct gateway client (with the key) for arranging data."""
        return httpx.Client(
            base_url=self.gateway_url, headers={"x-backend": backend, "x-api-key": self.api_key}, timeout=15
        )


@pytest.fixture(scope="session")
def gtd_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("logs")
    bun = start_or_fail(
        services.bun_sqlite(free_port(), tmp_path_factory.mktemp("bun-sqlite"), logs), BACKEND_DEADLINE_S
    )
    d1_persist = tmp_path_factory.mktemp("cf-d1")
    started: list[Service] = [bun]
    try:
        try:
            services.apply_d1_migrations(d1_persist, logs)
        except ServiceError as exc:
            pytest.fail(str(exc), pytrace=False)
        d1_port, inspector_port = free_port(), free_port()
        d1 = start_or_fail(
            services.cf_d1(d1_port, d1_persist, logs, inspector_port=inspector_port), WRANGLER_DEADLINE_S
        )
        started.append(d1)
        api_key = "fe-test-" + secrets.token_hex(16)
        gateway_port = free_port()
        bun_url, d1_url = bun.health_url.removesuffix("/health"), f"http://127.0.0.1:{d1_port}"
        settings = {
            "ENVIRONMENT": "local",
            "BACKEND_BUN_SQLITE_URL": bun_url,
            "BACKEND_CF_D1_URL": d1_url,
            "API_KEY": api_key,
            "HEALTH_TTL_S": "1",
            "HEALTH_RETRY_S": "1",
            "BACKEND_BUN_SQLITE_NAME": BACKEND_NAMES["bun-sqlite"],
            "BACKEND_CF_D1_NAME": BACKEND_NAMES["cf-d1"],
            # cf-d1 at both locations, so the location switcher shows.
            "BACKEND_CF_D1_CLOUD_URL": d1_url,
        }
        gateway = start_or_fail(services.twin(gateway_port, settings, logs / "gateway.log"), BACKEND_DEADLINE_S)
        started.append(gateway)
        result = Stack(
            logs, api_key, f"http://127.0.0.1:{gateway_port}", bun, d1, d1_port, d1_persist, gateway, inspector_port
        )
        yield result
        started[1] = result.d1  # it may have been restarted
    finally:
        for service in reversed(started):
            service.stop(grace_s=10)


# -- the frontend ----------------------------------------------------------------


@pytest.fixture(scope="session")
def frontend_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standalone build, rebuilt when a source is newer (``FRONTEND_SKIP_BUILD=1``: fail instead)."""
    if os.environ.get("FRONTEND_SKIP_BUILD") == "1" and not services.frontend_is_built():
        pytest.fail("frontend is not built or is stale: run `cd frontend && npm ci && npm run build`", pytrace=False)
    try:
        services.build_frontend(tmp_path_factory.mktemp("frontend-build"))
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    return services.FRONTEND_SERVER


@dataclass
class Frontend:
    url: str
    service: Service


@pytest.fixture(scope="session")
def frontend(frontend_build: Path, gtd_stack: Stack) -> Iterator[Frontend]:
    port = free_port()
    service = services.frontend(port, gtd_stack.gateway_url, gtd_stack.logs, api_key=gtd_stack.api_key)
    start_or_fail(service, FRONTEND_DEADLINE_S)
    try:
        yield Frontend(f"http://127.0.0.1:{port}", service)
    finally:
        service.stop(grace_s=10)


@pytest.fixture(scope="session")
def base_url(frontend: Frontend) -> str:
    return frontend.url


# -- the same app on the Worker --------------------------------------------------


@pytest.fixture(scope="session")
def worker_gateway_url(gtd_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The gateway Worker under wrangler dev, cloud mode, on the stack's two backends."""
    state = tmp_path_factory.mktemp("worker")
    config = services.workerd_overlay(state / "config" / "wrangler.dev.json")
    bun_url = gtd_stack.bun.health_url.removesuffix("/health")
    d1_url = f"http://127.0.0.1:{gtd_stack.d1_port}"
    backends = [
        {"id": backend, "name": BACKEND_NAMES[backend], "url": url, "type": "cloud", "healthEndpoint": "/health"}
        for backend, url in (("bun-sqlite", bun_url), ("cf-d1", d1_url))
    ]
    try:
        services.push_registry(backends, state / "backends.local.json", state / "kv", gtd_stack.logs, config=config)
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    settings = {
        "ENVIRONMENT": "cloud",
        "DEFAULT_BACKEND": "bun-sqlite",
        "API_KEY": gtd_stack.api_key,
        "HEALTH_TTL_S": "1",
        "HEALTH_RETRY_S": "1",
    }
    port = free_port()
    # Rate limiting off: every request of the suite comes from the frontend's one address.
    service = services.worker(
        port, settings, gtd_stack.logs, kv_persist=state / "kv", config=config, rate_limit=0, name="worker"
    )
    start_or_fail(service, WORKER_DEADLINE_S)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        service.stop(grace_s=10)


@pytest.fixture(scope="session")
def worker_frontend(frontend_build: Path, gtd_stack: Stack, worker_gateway_url: str) -> Iterator[Frontend]:
    """A second frontend server whose gateway is the Worker."""
    port = free_port()
    service = services.frontend(port, worker_gateway_url, gtd_stack.logs / "worker-frontend", api_key=gtd_stack.api_key)
    start_or_fail(service, FRONTEND_DEADLINE_S)
    try:
        yield Frontend(f"http://127.0.0.1:{port}", service)
    finally:
        service.stop(grace_s=10)


GatewayKind = Literal["twin", "worker"]


@dataclass
class App:
    """One browser page on the frontend of one gateway (``twin`` or ``worker``)."""

    gateway: GatewayKind
    page: Page
    frontend: Frontend


@pytest.fixture(params=["twin", "worker"])
def app(request: pytest.FixtureRequest, browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[App]:
    """A fresh browser context (no cookies) on the frontend of the twin, then of the Worker."""
    kind: GatewayKind = request.param
    frontend: Frontend = request.getfixturevalue("frontend" if kind == "twin" else "worker_frontend")
    context = browser.new_context(**{**browser_context_args, "base_url": frontend.url})
    try:
        yield App(kind, context.new_page(), frontend)
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the main screens are saved: docs/screenshots/ with ``GTD_SCREENSHOTS=docs``
    (to refresh the committed ones), else a temporary folder, so a test run leaves
    the work tree as it found it."""
    if os.environ.get("GTD_SCREENSHOTS") == "docs":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


def time_captures(page: Page, titles: list[str]) -> tuple[list[float], list[float]]:
    """Capture each title with the inbox box: per capture, ms from Enter to its row on screen (the
    optimistic one) and to the row the server confirmed (it has an id and is no longer pending)."""
    box = page.get_by_label("Capture to inbox")
    shown: list[float] = []
    confirmed: list[float] = []
    for title in titles:
        box.fill(title)
        started = time.perf_counter()
        box.press("Enter")
        expect(page.locator(f"li.task[data-title='{title}']").first).to_be_visible()
        shown.append((time.perf_counter() - started) * 1000)
        expect(page.locator(f"li.task[data-task-id][data-title='{title}'][data-pending='false']")).to_be_visible()
        confirmed.append((time.perf_counter() - started) * 1000)
    return shown, confirmed


def p90(values: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the failure suite's facts for scenarios they do not apply to (``test_failures.applies``).

    A fact about "the other backends" means nothing while the gateway itself is down: such a case is
    left out of the run (counted as deselected), not run as a skip.
    """
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        applies = getattr(getattr(item, "function", None), "applies", None)
        callspec = getattr(item, "callspec", None)
        case = callspec.params.get("outcome") if callspec is not None else None
        (drop if applies is not None and case is not None and not applies(case) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
