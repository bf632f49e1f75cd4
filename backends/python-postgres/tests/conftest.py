"""Fixtures: one private PostgreSQL server per test session (pgserver.PgServer.temporary),
and a fresh database on it per test that asks for `database_url`.

Tests that need PostgreSQL fail, saying so, when its server binaries are not installed
(Debian: apt-get install postgresql; the repo's `make test` installs it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import pgserver


@pytest.fixture(scope="session")
def pg() -> Iterator[pgserver.PgServer]:
    try:
        pgserver.find_bindir()
    except pgserver.PgServerError as exc:
        pytest.fail(f"{exc} (apt-get install postgresql)", pytrace=False)
    with pgserver.PgServer.temporary() as server:
        server.without_durability()
        yield server


@pytest.fixture
def database_url(pg: pgserver.PgServer) -> str:
    """A new, empty database owned by the app role; its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg.psql(
        f"CREATE DATABASE \"{name}\" OWNER \"{pg.user}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    return pg.database_url.rsplit("/", 1)[0] + "/" + name
