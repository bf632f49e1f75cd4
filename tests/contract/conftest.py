"""Fixtures for the black-box GTD contract suite.

Every test that takes ``api`` runs once per target:

    direct-bun-sqlite    bun-sqlite on a free port
    direct-cf-d1         cf-d1 under ``wrangler dev --local`` on a free port
    direct-ruby-sqlite   ruby-sqlite (Sinatra on Puma) on a free port
    direct-python-postgres  python-postgres (Starlette, uvicorn) with its own PostgreSQL
    direct-elixir-sqlite  elixir-sqlite (mochiweb + SQLite on OTP) on a free port
    gateway-bun-sqlite   the gateway twin (python -m local_runner), ``x-backend: bun-sqlite``
    gateway-cf-d1        the gateway twin, ``x-backend: cf-d1``
    gateway-ruby-sqlite  the gateway twin, ``x-backend: ruby-sqlite``
    gateway-python-postgres  the gateway twin, ``x-backend: python-postgres``
    gateway-elixir-sqlite  the gateway twin, ``x-backend: elixir-sqlite``
    worker-bun-sqlite    the gateway Worker (src/entry.py) under ``wrangler dev`` on real
                         workerd, cloud mode, its registry in wrangler's local KV;
                         ``x-backend: bun-sqlite`` (the same bun-sqlite as above)
    worker-cf-d1         the gateway Worker, ``x-backend: cf-d1``
    worker-elixir-sqlite the gateway Worker, ``x-backend: elixir-sqlite``

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

``make test`` exports ``GTD_FULL_SUITE=1``; with it, ``CONTRACT_BASE_URL`` is
refused (a usage error), since it would shrink the suite to one target.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from harness import services
from harness.process import Service, ServiceError, free_port
from tests.support.processes import start_or_fail

from .spec import ContractChecker, load_spec

BACKEND_DEADLINE_S = 30
WRANGLER_DEADLINE_S = 90
GATEWAY_DEADLINE_S = 30

EXTERNAL_URL = os.environ.get("CONTRACT_BASE_URL", "").rstrip("/")


def pytest_configure(config: pytest.Config) -> None:
    # ``make test`` exports GTD_FULL_SUITE=1. CONTRACT_BASE_URL replaces the
    # targets below with one, so the suite would pass with a fraction of its cases.
    if EXTERNAL_URL and os.environ.get("GTD_FULL_SUITE"):
        raise pytest.UsageError(
            "CONTRACT_BASE_URL is set while GTD_FULL_SUITE is (make test): the contract suite would run only "
            f"against that one external target instead of its {len(LOCAL_TARGETS)} ({', '.join(LOCAL_TARGETS)}), "
            "a fraction of its cases. Unset CONTRACT_BASE_URL for "
            "the full suite, or run tests/contract on its own (without make test) to check an external target."
        )


LOCAL_TARGETS = (
    "direct-bun-sqlite",
    "direct-cf-d1",
    "direct-ruby-sqlite",
    "direct-python-postgres",
    "direct-elixir-sqlite",
    "gateway-bun-sqlite",
    "gateway-cf-d1",
    "gateway-ruby-sqlite",
    "gateway-python-postgres",
    "gateway-elixir-sqlite",
    "worker-bun-sqlite",
    "worker-cf-d1",
    "worker-elixir-sqlite",
)
TARGETS = ("external",) if EXTERNAL_URL else LOCAL_TARGETS


# -- servers -----------------------------------------------------------------


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


def sqlite_backend(
    recipe: Callable[[int, Path, Path], Service], name: str, tmp: pytest.TempPathFactory, logs_dir: Path
) -> Iterator[str]:
    """A SQLite backend from its devstack recipe on a free port with its own data folder: its URL while it runs."""
    port = free_port()
    service = recipe(port, tmp.mktemp(name), logs_dir)
    start_or_fail(service, BACKEND_DEADLINE_S)
    yield f"http://127.0.0.1:{port}"
    service.stop()


@pytest.fixture(scope="session")
def bun_sqlite_url(tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[str]:
    yield from sqlite_backend(services.bun_sqlite, "bun-sqlite", tmp_path_factory, logs_dir)


@pytest.fixture(scope="session")
def cf_d1_url(tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[str]:
    persist = tmp_path_factory.mktemp("cf-d1")
    try:
        services.apply_d1_migrations(persist, logs_dir)
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    port = free_port()
    service = services.cf_d1(port, persist, logs_dir, inspector_port=free_port())
    start_or_fail(service, WRANGLER_DEADLINE_S)
    yield f"http://127.0.0.1:{port}"
    service.stop()


@pytest.fixture(scope="session")
def ruby_sqlite_url(tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[str]:
    yield from sqlite_backend(services.ruby_sqlite, "ruby-sqlite", tmp_path_factory, logs_dir)


@pytest.fixture(scope="session")
def elixir_sqlite_url(tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[str]:
    yield from sqlite_backend(services.elixir_sqlite, "elixir-sqlite", tmp_path_factory, logs_dir)


@pytest.fixture(scope="session")
def python_postgres_url(logs_dir: Path) -> Iterator[str]:
    from pgserver import PgServer, PgServerError

    try:
        database = PgServer.temporary().__enter__()
    except PgServerError as exc:
        pytest.fail(f"PostgreSQL did not start: {exc}", pytrace=False)
    port = free_port()
    service = services.python_postgres(port, database.database_url, logs_dir)
    try:
        database.without_durability()  # the server is thrown away after the session
        start_or_fail(service, BACKEND_DEADLINE_S)
        yield f"http://127.0.0.1:{port}"
    finally:
        service.stop()
        database.__exit__(None, None, None)


@pytest.fixture(scope="session")
def gateway_url(
    bun_sqlite_url: str,
    cf_d1_url: str,
    ruby_sqlite_url: str,
    python_postgres_url: str,
    elixir_sqlite_url: str,
    logs_dir: Path,
) -> Iterator[str]:
    port = free_port()
    settings = {
        "ENVIRONMENT": "local",
        "BACKEND_BUN_SQLITE_URL": bun_sqlite_url,
        "BACKEND_CF_D1_URL": cf_d1_url,
        "BACKEND_RUBY_SQLITE_URL": ruby_sqlite_url,
        "BACKEND_PYTHON_POSTGRES_URL": python_postgres_url,
        "BACKEND_ELIXIR_SQLITE_URL": elixir_sqlite_url,
    }
    service = services.twin(port, settings, logs_dir / "gateway.log")
    start_or_fail(service, GATEWAY_DEADLINE_S)
    yield f"http://127.0.0.1:{port}"
    service.stop()


@pytest.fixture(scope="session")
def worker_url(
    bun_sqlite_url: str,
    cf_d1_url: str,
    elixir_sqlite_url: str,
    logs_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The Worker gateway (harness.services.worker), backends pushed by gateway-registry --local."""
    state = tmp_path_factory.mktemp("worker")
    config = services.workerd_overlay(state / "config" / "wrangler.dev.json")
    backends = [
        {"id": "bun-sqlite", "url": bun_sqlite_url, "type": "cloud", "healthEndpoint": "/health"},
        {"id": "cf-d1", "url": cf_d1_url, "type": "cloud", "healthEndpoint": "/health"},
        {"id": "elixir-sqlite", "url": elixir_sqlite_url, "type": "cloud", "healthEndpoint": "/health"},
    ]
    try:
        services.push_registry(backends, state / "backends.local.json", state / "kv", logs_dir, config=config)
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    port = free_port()
    settings = {"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "bun-sqlite"}
    # Rate limiting off, as for the twin target: the suite sends far more than 600 requests a minute.
    service = services.worker(
        port, settings, logs_dir, kv_persist=state / "kv", config=config, rate_limit=0, name="worker"
    )
    start_or_fail(service, WRANGLER_DEADLINE_S)
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
    if via == "worker":
        return Target(name, request.getfixturevalue("worker_url"), backend, {"x-backend": backend})
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


def assert_created_field_round_trips(api: Api, collection: str, field: str, value: object) -> None:
    """A record created in ``collection`` (tasks, projects) with ``field`` set answers it, and so does a GET."""
    create = {"tasks": api.create_task, "projects": api.create_project}[collection]
    record = create(**{field: value})
    assert record[field] == value
    assert api.get(f"/{collection}/{record['id']}").json()[field] == value


def assert_patch_sets_and_null_clears(api: Api, collection: str, field: str, value: object) -> tuple[dict, dict]:
    """PATCH sets ``field`` on a fresh record of ``collection`` and ``null`` clears it: (the record, the set answer)."""
    create = {"tasks": api.create_task, "projects": api.create_project}[collection]
    record = create()
    set_ = api.patch(f"/{collection}/{record['id']}", json={field: value})
    assert set_.status_code == 200, set_.text
    assert set_.json()[field] == value
    cleared = api.patch(f"/{collection}/{record['id']}", json={field: None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()[field] is None
    return record, set_.json()


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
