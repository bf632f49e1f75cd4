"""Fixtures: one private PostgreSQL server per test session (pgserver.PgServer.temporary),
and a fresh database on it per test that asks for `database_url`.

Tests that need PostgreSQL are skipped, with the reason, when its server binaries are
not installed (Debian: apt-get install postgresql)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pgserver  # noqa: E402


@pytest.fixture(scope="session")
def pg() -> Iterator[pgserver.PgServer]:
    try:
        pgserver.find_bindir()
    except pgserver.PgServerError as exc:
        pytest.skip(str(exc))
    with pgserver.PgServer.temporary() as server:
        yield server


@pytest.fixture
def database_url(pg: pgserver.PgServer) -> str:
    """A new, empty database owned by the app role; its URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg.psql(
        f"CREATE DATABASE \"{name}\" OWNER \"{pg.user}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    )
    return pg.database_url.rsplit("/", 1)[0] + "/" + name
