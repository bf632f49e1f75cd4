"""Fixtures for the browser suite: frontend → gateway → both backends, in Chromium.

Everything runs on free ports with temporary data and is stopped at the end
(each service in its own process group):

    bun-sqlite   devstack's recipes (the ones `make run` uses)
    cf-d1        wrangler dev --local, migrations applied
    gateway      python -m local_runner with API_KEY set, HEALTH_TTL_S=1,
                 HEALTH_RETRY_S=1, and cf-d1 registered at both locations
                 (cloud = the same local server: loopback http is allowed)
    frontend     frontend/.next/standalone/server.js (GATEWAY_URL, API_KEY)

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

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from devstack import services
from devstack.process import REPO, Service, ServiceError, free_port
from tests.support.processes import start_or_fail

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
            "BACKEND_BUN_SQLITE_NAME": "Bun + SQLite",
            "BACKEND_CF_D1_NAME": "Cloudflare D1",
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


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the main screens are saved: docs/screenshots/ with ``GTD_SCREENSHOTS=docs``
    (to refresh the committed ones), else a temporary folder, so a test run leaves
    the work tree as it found it."""
    if os.environ.get("GTD_SCREENSHOTS") == "docs":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")
