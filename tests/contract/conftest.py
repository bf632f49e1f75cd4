"""Fixtures for the black-box GTD contract suite.

Every test that takes ``api`` runs once per target:

    direct-bun-sqlite    bun-sqlite on a free port
    direct-cf-d1         cf-d1 under ``wrangler dev --local`` on a free port
    gateway-bun-sqlite   the gateway twin (python -m local_runner), ``x-backend: bun-sqlite``
    gateway-cf-d1        the gateway twin, ``x-backend: cf-d1``

Servers are session fixtures started lazily on first use (``-k direct`` only
starts the two backends) on 127.0.0.1 with temporary data, and stopped at the
end of the session. A server that cannot start fails its tests with its log;
the gateway targets fail (never skip) when the twin cannot start.

To run the same tests against something already running (e.g. docker compose),
set ``CONTRACT_BASE_URL`` (and ``CONTRACT_BACKEND``, the id /health must
report; with ``CONTRACT_X_BACKEND=1`` it is also sent as ``x-backend``): the
suite then has the single target ``external``, e.g.

    CONTRACT_BASE_URL=http://127.0.0.1:8787 CONTRACT_BACKEND=cf-d1 CONTRACT_X_BACKEND=1 \
        .venv/bin/python -m pytest tests/contract -k external
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port

from .spec import ContractChecker, load_spec

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import stack  # noqa: E402  (scripts/stack.py: the same launcher run_stack.py uses)

BACKEND_DEADLINE_S = 30
WRANGLER_DEADLINE_S = 90
GATEWAY_DEADLINE_S = 30

EXTERNAL_URL = os.environ.get("CONTRACT_BASE_URL", "").rstrip("/")
TARGETS = (
    ("external",)
    if EXTERNAL_URL
    else ("direct-bun-sqlite", "direct-cf-d1", "gateway-bun-sqlite", "gateway-cf-d1")
)


def start_healthy(service: stack.Service, deadline_s: float) -> stack.Service:
    service.start()
    try:
        service.wait_healthy(time.monotonic() + deadline_s)
    except stack.StackError as exc:
        service.stop()
        pytest.fail(str(exc), pytrace=False)
    return service


# -- servers -----------------------------------------------------------------


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def bun_sqlite_url(tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[str]:
    port = free_port()
    service = stack.bun_sqlite(port, tmp_path_factory.mktemp("bun-sqlite"), logs_dir)
    start_healthy(service, BACKEND_DEADLINE_S)
    yield f"http://127.0.0.1:{port}"
    service.stop()


@pytest.fixture(scope="session")
def cf_d1_url(tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[str]:
    persist = tmp_path_factory.mktemp("cf-d1")
    try:
        stack.apply_d1_migrations(persist, logs_dir)
    except stack.StackError as exc:
        pytest.fail(str(exc), pytrace=False)
    port = free_port()
    service = stack.cf_d1(port, persist, logs_dir, inspector_port=free_port())
    start_healthy(service, WRANGLER_DEADLINE_S)
    yield f"http://127.0.0.1:{port}"
    service.stop()


@pytest.fixture(scope="session")
def gateway_url(bun_sqlite_url: str, cf_d1_url: str, logs_dir: Path) -> Iterator[str]:
    port = free_port()
    service = stack.gateway(port, bun_sqlite_url, cf_d1_url, logs_dir)
    start_healthy(service, GATEWAY_DEADLINE_S)
    yield f"http://127.0.0.1:{port}"
    service.stop()


# -- targets -----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    backend_id: str
    headers: dict[str, str] = field(default_factory=dict)


def resolve_target(request: pytest.FixtureRequest, name: str) -> Target:
    if name == "external":
        backend = os.environ.get("CONTRACT_BACKEND", "bun-sqlite")
        headers = {"x-backend": backend} if os.environ.get("CONTRACT_X_BACKEND") == "1" else {}
        return Target(name, EXTERNAL_URL, backend, headers)
    via, _, backend = name.partition("-")
    if via == "direct":
        url = request.getfixturevalue(f"{backend.replace('-', '_')}_url")
        return Target(name, url, backend)
    return Target(name, request.getfixturevalue("gateway_url"), backend, {"x-backend": backend})


@pytest.fixture(scope="session")
def checker() -> ContractChecker:
    return ContractChecker(load_spec())


class Api(httpx.Client):
    """An httpx client bound to one target; every response is checked against the spec."""

    def __init__(self, target: Target, checker: ContractChecker) -> None:
        self.target = target
        super().__init__(
            base_url=target.base_url,
            headers=target.headers,
            timeout=15,
            event_hooks={"response": [self._check]},
        )
        self._checker = checker

    def _check(self, response: httpx.Response) -> None:
        response.read()
        self._checker.check(response)

    # Shorthands that also assert the happy-path status.
    def create_task(self, **fields: object) -> dict:
        fields.setdefault("title", f"task {uuid.uuid4().hex[:8]}")
        response = self.post("/tasks", json=fields)
        assert response.status_code == 201, response.text
        return response.json()

    def create_project(self, **fields: object) -> dict:
        fields.setdefault("name", f"project {uuid.uuid4().hex[:8]}")
        response = self.post("/projects", json=fields)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture(scope="session")
def _clients() -> Iterator[dict[str, Api]]:
    clients: dict[str, Api] = {}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture(params=TARGETS)
def api(request: pytest.FixtureRequest, _clients: dict[str, Api], checker: ContractChecker) -> Api:
    name = request.param
    if name not in _clients:
        _clients[name] = Api(resolve_target(request, name), checker)
    return _clients[name]


@pytest.fixture
def unique_context() -> str:
    """A context no other test uses, so list filters see only this test's tasks."""
    return f"@t-{uuid.uuid4().hex[:12]}"
