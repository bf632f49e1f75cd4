"""Idempotency-Key on a real PostgreSQL: what the black-box suite cannot reach over HTTP
(24 h expiry, by ageing the stored key; the lazy purge; losing a race), and the pure parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gtd_pg.app import create_app
from gtd_pg.errors import ApiError
from gtd_pg.idempotency import fingerprint, parse_key
from gtd_pg.settings import load_settings
from gtd_pg.store import Store


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Starlette]:
    """The app in this event loop, its lifespan run (pool opened, migrations applied)."""
    app = create_app(load_settings({"DATABASE_URL": database_url}))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backend") as client:
        yield client


@pytest.fixture
def store(app: Starlette) -> Store:
    store: Store = app.state.store
    return store


async def _age(store: Store, key: str, by: timedelta) -> None:
    """Moves the key's first use into the past (created_at is RFC 3339 text, like every timestamp)."""
    await store.pool.execute(
        "UPDATE idempotency_keys SET created_at = to_char((now() - $2::interval) AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') WHERE key = $1',
        key,
        by,
    )


async def _count(store: Store, table: str) -> int:
    return int(await store.pool.fetchval(f"SELECT count(*) FROM {table}"))


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    return await client.post(path, json=body, headers={"idempotency-key": key})


async def test_a_key_used_24_hours_ago_has_expired_and_creates_again(client, store):
    first = await _post(client, "/tasks", {"title": "t"}, "k1")
    await _age(store, "k1", timedelta(hours=24))
    again = await _post(client, "/tasks", {"title": "t"}, "k1")
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert await _count(store, "tasks") == 2


async def test_a_key_used_just_under_24_hours_ago_still_replays(client, store):
    first = await _post(client, "/projects", {"name": "p"}, "k1")
    await _age(store, "k1", timedelta(hours=23, minutes=59))
    again = await _post(client, "/projects", {"name": "p"}, "k1")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert await _count(store, "projects") == 1


async def test_storing_a_new_key_purges_the_expired_ones(client, store):
    await _post(client, "/tasks", {"title": "a"}, "old")
    await _age(store, "old", timedelta(hours=25))
    await _post(client, "/tasks", {"title": "b"}, "new")
    assert [r["key"] for r in await store.pool.fetch("SELECT key FROM idempotency_keys")] == ["new"]


async def test_the_stored_answer_is_the_first_response(client, store):
    response = await _post(client, "/tasks", {"title": "nul \x00 and \U0010ffff"}, "k1")
    row = await store.pool.fetchrow("SELECT status, body FROM idempotency_keys WHERE key = 'k1'")
    assert (row["status"], row["body"].encode()) == (201, response.content)


async def test_a_key_stored_by_a_concurrent_request_rolls_the_create_back_and_replays(client, store, monkeypatch):
    body = b'{"title": "raced"}'
    winner = '{"id":"3f1e1c2a-7b6d-4c1e-9a0b-1234567890ab"}'
    find = store.find_idempotency_key
    lookups = 0

    async def lose_the_race(key: str) -> Any:
        # What the loser sees: its lookup finds nothing, then the winner's key lands.
        nonlocal lookups
        lookups += 1
        if lookups == 1:
            await store.pool.execute(
                "INSERT INTO idempotency_keys VALUES ($1, $2, 201, $3, $4)",
                key,
                fingerprint("POST", "/tasks", body),
                winner,
                store.now(),
            )
            return None
        return await find(key)

    monkeypatch.setattr(store, "find_idempotency_key", lose_the_race)
    response = await client.post("/tasks", content=body, headers={"idempotency-key": "k1"})
    assert (response.status_code, response.headers["idempotent-replayed"], response.text) == (201, "true", winner)
    assert await _count(store, "tasks") == 0


def test_parse_key_reads_the_quoted_form_as_the_bare_key():
    assert parse_key(['"abc"']) == "abc"


def test_parse_key_is_none_without_the_header():
    assert parse_key([]) is None


@pytest.mark.parametrize(
    "values",
    [[""], ['""'], ["a b"], ["k" * 256], ["clé"], ["a\tb"], ["one", "two"]],
    ids=["empty", "empty-quoted", "space", "256-chars", "non-ascii", "tab", "repeated"],
)
def test_parse_key_refuses_malformed_keys(values):
    with pytest.raises(ApiError) as excinfo:
        parse_key(values)
    assert (excinfo.value.status, excinfo.value.code) == (400, "invalid_idempotency_key")


def test_fingerprint_is_the_sha256_of_method_path_and_body():
    # printf 'POST /tasks\n{}' | sha256sum
    assert fingerprint("POST", "/tasks", b"{}") == "dde3feeeadc32527d89144284cc04b879156ff13bde2ab107ebaee2e7f28b88e"
