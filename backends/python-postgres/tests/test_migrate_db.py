"""The migration runner on a real PostgreSQL: version table, atomic files, refusal of newer schemas."""

import asyncio
import shutil

import asyncpg
import pytest

from gtd_pg.migrate import MIGRATIONS_DIR, SchemaTooNew, current_version, list_migrations, migrate


@pytest.fixture
async def conn(database_url):
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def test_fresh_database_gets_every_migration(conn):
    version = await migrate(conn)
    assert version == len(list_migrations()) == await current_version(conn)
    rows = await conn.fetch("SELECT version, name FROM schema_version ORDER BY version")
    assert [r["name"] for r in rows] == [p.name for p in list_migrations()]
    identity = await conn.fetchval(
        "SELECT identity_generation FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'seq'"
    )
    assert identity == "ALWAYS"
    collation = await conn.fetchval(
        "SELECT collation_name FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'created_at'"
    )
    assert collation == "C"


async def test_running_again_changes_nothing(conn):
    await migrate(conn)
    await migrate(conn)
    assert await conn.fetchval("SELECT count(*) FROM schema_version") == len(list_migrations())


async def test_concurrent_starters_apply_each_file_once(database_url):
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(c) for c in conns))
        assert await conns[0].fetchval("SELECT count(*) FROM schema_version") == len(list_migrations())
    finally:
        for c in conns:
            await c.close()


async def test_a_database_newer_than_the_code_is_refused(conn):
    await migrate(conn)
    await conn.execute("INSERT INTO schema_version (version, name) VALUES (999, '0999_future.sql')")
    with pytest.raises(SchemaTooNew, match="999"):
        await migrate(conn)


async def test_a_failing_file_rolls_back_with_its_version(conn, tmp_path):
    for path in list_migrations(MIGRATIONS_DIR):
        shutil.copy(path, tmp_path / path.name)
    base = len(list_migrations(MIGRATIONS_DIR))
    bad = tmp_path / f"{base + 1:04d}_bad.sql"
    bad.write_text("CREATE TABLE half_done (a TEXT);\nCREATE TABLE tasks (a TEXT);\n")
    with pytest.raises(asyncpg.DuplicateTableError):
        await migrate(conn, tmp_path)
    assert await current_version(conn) == base
    assert await conn.fetchval("SELECT to_regclass('half_done')") is None
    bad.write_text("ALTER TABLE tasks ADD COLUMN energy INTEGER;\n")
    assert await migrate(conn, tmp_path) == base + 1
    assert (
        await conn.fetchval(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'tasks' AND column_name = 'energy'"
        )
        == "bigint"
    )


async def test_schema_semantics_match_sqlite(conn):
    """Ordering and the foreign key behave as the SQLite schema does."""
    await migrate(conn)
    await conn.execute(
        "INSERT INTO projects (id, name, created_at, updated_at) VALUES ('p', 'P', '2026-01-01T00:00:00.000Z', 'x')"
    )
    for i, created in enumerate(["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z", "2025-12-31T23:59:59.999Z"]):
        await conn.execute(
            "INSERT INTO tasks (id, title, project_id, created_at, updated_at) VALUES ($1, 't', 'p', $2, $2)",
            f"t{i}",
            created,
        )
    order = await conn.fetch("SELECT id FROM tasks ORDER BY created_at DESC, seq DESC")
    assert [r["id"] for r in order] == ["t1", "t0", "t2"]
    await conn.execute("DELETE FROM projects WHERE id = 'p'")
    assert await conn.fetchval("SELECT count(*) FROM tasks WHERE project_id IS NULL") == 3
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO tasks (id, title, status, created_at, updated_at) VALUES ('x', 't', 'bogus', 'a', 'a')"
        )
    with pytest.raises(asyncpg.GeneratedAlwaysError):
        await conn.execute("INSERT INTO tasks (seq, id, title, created_at, updated_at) VALUES (1, 'y', 't', 'a', 'a')")


async def test_v2_migration_gives_v1_done_tasks_their_completed_at(conn, tmp_path):
    for path in list_migrations(MIGRATIONS_DIR)[:2]:  # 0001, 0002: a v1 database
        shutil.copy(path, tmp_path / path.name)
    await migrate(conn, tmp_path)
    for id, status in (("open", "next"), ("done", "done")):
        await conn.execute(
            "INSERT INTO tasks (id, title, status, created_at, updated_at) VALUES ($1, 't', $2, $3, $4)",
            id,
            status,
            "2026-01-01T00:00:00.000Z",
            "2026-02-01T00:00:00.000Z",
        )
    await migrate(conn)
    rows = dict(await conn.fetch("SELECT id, completed_at FROM tasks"))
    assert rows == {"open": None, "done": "2026-02-01T00:00:00.000Z"}


async def test_v2_migration_refuses_an_unknown_repeat_from(conn):
    await migrate(conn)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO tasks (id, title, repeat_rule, repeat_from, created_at, updated_at) "
            "VALUES ('x', 't', 'FREQ=DAILY', 'start', 'a', 'a')"
        )


async def test_v2_dependencies_have_a_composite_primary_key_and_go_with_their_tasks(conn):
    await migrate(conn)
    for id in ("a", "b"):
        await conn.execute("INSERT INTO tasks (id, title, created_at, updated_at) VALUES ($1, 't', 'x', 'x')", id)
    await conn.execute("INSERT INTO task_dependencies (task_id, blocker_id) VALUES ('a', 'b')")
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute("INSERT INTO task_dependencies (task_id, blocker_id) VALUES ('a', 'b')")
    await conn.execute("DELETE FROM tasks WHERE id = 'b'")
    assert await conn.fetchval("SELECT count(*) FROM task_dependencies") == 0
