"""All SQL, over an asyncpg pool. The queries are those of backends/shared/src/store.ts,
with PostgreSQL placeholders; the schema is the shared migrations' (gtd_pg.migrate).

Text: PostgreSQL `text` cannot hold U+0000, which the contract accepts (a title
"a\\u0000b" round-trips). Free-text columns (title, name, notes, context) are
therefore stored with a reversible escape: U+0000 -> U+10FFFF "0", and U+10FFFF
(a noncharacter, never interchanged) -> U+10FFFF U+10FFFF. Text without either
character, i.e. all normal text, is stored as is. Filters encode their value the
same way, so equality still works. Ids, statuses and dates are ASCII by validation.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from .errors import ApiError, invalid
from .http import dumps, format_iso, now_iso, parse_iso
from .idempotency import TTL, IdempotentWrite, StoredAnswer

TASK_COLUMNS = "id, title, notes, status, project_id, context, due_date, created_at, updated_at"
PROJECT_COLUMNS = "id, name, status, notes, created_at, updated_at"
# Newest first; `seq` (insertion order) breaks ties within one millisecond.
NEWEST_FIRST = "ORDER BY created_at DESC, seq DESC"

TASK_WRITABLE = ("title", "notes", "status", "project_id", "context", "due_date")
TASK_FILTERABLE = ("status", "project_id", "context")
PROJECT_WRITABLE = ("name", "status", "notes")
PROJECT_FILTERABLE = ("status",)
ESCAPED_COLUMNS = frozenset({"title", "name", "notes", "context"})

#: /health's deadline: well inside the gateway's HEALTH_TIMEOUT_MS (2000 by default), so a
#: stopped, unreachable or hung PostgreSQL is a prompt 503, never a hang.
HEALTH_TIMEOUT_S = 1.0

INSERT_TASK = (
    "INSERT INTO tasks (id, title, notes, status, project_id, context, due_date, created_at, updated_at) "
    f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {TASK_COLUMNS}"
)
INSERT_PROJECT = (
    "INSERT INTO projects (id, name, status, notes, created_at, updated_at) "
    f"VALUES ($1, $2, $3, $4, $5, $5) RETURNING {PROJECT_COLUMNS}"
)
FIND_KEY = "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = $1 AND created_at > $2"
PURGE_KEYS = "DELETE FROM idempotency_keys WHERE created_at <= $1"
INSERT_KEY = "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES ($1, $2, $3, $4, $5)"

ESC = "\U0010ffff"
_DECODE_RE = re.compile(ESC + "(.)", re.DOTALL)


def encode_text(value: str | None) -> str | None:
    if value is None or ("\x00" not in value and ESC not in value):
        return value
    return value.replace(ESC, ESC + ESC).replace("\x00", ESC + "0")


def decode_text(value: str | None) -> str | None:
    if value is None or ESC not in value:
        return value
    return _DECODE_RE.sub(lambda m: "\x00" if m[1] == "0" else m[1], value)


def _db_value(column: str, value: Any) -> Any:
    return encode_text(value) if column in ESCAPED_COLUMNS else value


def _row(record: asyncpg.Record | None) -> dict[str, Any] | None:
    if record is None:
        return None
    row = dict(record)
    for column in ESCAPED_COLUMNS.intersection(row):
        row[column] = decode_text(row[column])
    return row


def _where(filter: Mapping[str, Any], columns: Iterable[str]) -> tuple[str, list[Any]]:
    """`WHERE a = $1 AND b = $2` from the keys that are set, in a fixed order."""
    clauses: list[str] = []
    params: list[Any] = []
    for column in columns:
        if column in filter:
            params.append(_db_value(column, filter[column]))
            clauses.append(f"{column} = ${len(params)}")
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _assignments(fields: Mapping[str, Any], columns: Iterable[str]) -> tuple[list[str], list[Any]]:
    """The SET list of an UPDATE from validated fields, in a fixed column order."""
    sets: list[str] = []
    params: list[Any] = []
    for column in columns:
        if column in fields:
            params.append(_db_value(column, fields[column]))
            sets.append(f"{column} = ${len(params)}")
    return sets, params


def _rows_changed(status: str) -> int:
    """asyncpg's command tag, e.g. 'DELETE 1'."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except ValueError:
        return 0


class Store:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        now: Callable[[], str] = now_iso,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        timeout_s: float = 5,
    ) -> None:
        """`timeout_s` bounds each operation's database work (DB_TIMEOUT_MS): waiting for a
        pooled connection, connecting, querying. Past it, TimeoutError (a 503)."""
        self.pool = pool
        self.now = now
        self.new_id = new_id
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def _connection(self, timeout_s: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection for one operation, under one deadline (default `timeout_s`).

        One deadline around the whole operation, not asyncpg's per-query `timeout=`: that
        does not cover pool.acquire(), which may wait for a free connection or connect.
        When the deadline passes, the connection is terminated: cancelling its query
        politely, and resetting it for reuse, both need the server, which may be the
        thing that hangs, and asyncpg's release would wait for them. PostgreSQL rolls
        back whatever a terminated connection left open.
        """
        conn: asyncpg.Connection | None = None
        try:
            async with asyncio.timeout(self.timeout_s if timeout_s is None else timeout_s):
                conn = await self.pool.acquire()
                yield conn
        except TimeoutError:
            if conn is not None:
                conn.terminate()
            raise
        finally:
            if conn is not None:
                await self.pool.release(conn)

    async def _fetch(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        async with self._connection() as conn:
            records = await conn.fetch(sql, *params)
        return [_row(r) for r in records]  # type: ignore[misc]

    async def _fetchrow(self, sql: str, *params: Any) -> dict[str, Any] | None:
        async with self._connection() as conn:
            return _row(await conn.fetchrow(sql, *params))

    async def _fetchval(self, sql: str, *params: Any) -> Any:
        async with self._connection() as conn:
            return await conn.fetchval(sql, *params)

    async def _execute(self, sql: str, *params: Any) -> str:
        async with self._connection() as conn:
            return str(await conn.execute(sql, *params))

    async def ping(self, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        """Raises if the schema cannot be queried in time; /health turns that into a 503."""
        async with self._connection(timeout_s) as conn:
            await conn.fetchrow("SELECT (SELECT 1 FROM tasks LIMIT 1) AS t, (SELECT 1 FROM projects LIMIT 1) AS p")

    # -- tasks -----------------------------------------------------------------------

    async def list_tasks(self, filter: Mapping[str, Any]) -> list[dict[str, Any]]:
        where, params = _where(filter, TASK_FILTERABLE)
        return await self._fetch(f"SELECT {TASK_COLUMNS} FROM tasks {where} {NEWEST_FIRST}", *params)

    async def get_task(self, id: str) -> dict[str, Any] | None:
        return await self._fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1", id)

    async def create_task(
        self, fields: Mapping[str, Any], idempotency: IdempotentWrite | None = None
    ) -> dict[str, Any]:
        """Inserts a task; with `idempotency`, its key and answer are stored in the same transaction."""
        now = self.now()
        try:
            return await self._insert(
                INSERT_TASK,
                idempotency,
                self.new_id(),
                encode_text(fields["title"]),
                encode_text(fields.get("notes")),
                fields.get("status") or "inbox",
                fields.get("project_id"),
                encode_text(fields.get("context")),
                fields.get("due_date"),
                now,
            )
        except asyncpg.ForeignKeyViolationError:
            raise _project_gone() from None

    async def update_task(self, id: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        sets, params = _assignments(fields, TASK_WRITABLE)
        params += [self.now(), id]
        sets.append(f"updated_at = ${len(params) - 1}")
        try:
            return await self._fetchrow(
                f"UPDATE tasks SET {', '.join(sets)} WHERE id = ${len(params)} RETURNING {TASK_COLUMNS}", *params
            )
        except asyncpg.ForeignKeyViolationError:
            raise _project_gone() from None

    async def delete_task(self, id: str) -> bool:
        return _rows_changed(await self._execute("DELETE FROM tasks WHERE id = $1", id)) > 0

    # -- projects --------------------------------------------------------------------

    async def list_projects(self, filter: Mapping[str, Any]) -> list[dict[str, Any]]:
        where, params = _where(filter, PROJECT_FILTERABLE)
        return await self._fetch(f"SELECT {PROJECT_COLUMNS} FROM projects {where} {NEWEST_FIRST}", *params)

    async def get_project(self, id: str) -> dict[str, Any] | None:
        return await self._fetchrow(f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1", id)

    async def project_exists(self, id: str) -> bool:
        return await self._fetchval("SELECT 1 FROM projects WHERE id = $1", id) is not None

    async def create_project(
        self, fields: Mapping[str, Any], idempotency: IdempotentWrite | None = None
    ) -> dict[str, Any]:
        """Inserts a project; `idempotency` as for create_task."""
        return await self._insert(
            INSERT_PROJECT,
            idempotency,
            self.new_id(),
            encode_text(fields["name"]),
            fields.get("status") or "active",
            encode_text(fields.get("notes")),
            self.now(),
        )

    async def update_project(self, id: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        sets, params = _assignments(fields, PROJECT_WRITABLE)
        params += [self.now(), id]
        sets.append(f"updated_at = ${len(params) - 1}")
        return await self._fetchrow(
            f"UPDATE projects SET {', '.join(sets)} WHERE id = ${len(params)} RETURNING {PROJECT_COLUMNS}", *params
        )

    async def delete_project(self, id: str) -> bool:
        """The schema's ON DELETE SET NULL detaches the project's tasks (their updated_at stays)."""
        return _rows_changed(await self._execute("DELETE FROM projects WHERE id = $1", id)) > 0

    # -- Idempotency-Key -------------------------------------------------------------

    async def find_idempotency_key(self, key: str) -> StoredAnswer | None:
        """The answer stored for `key` within the last 24 h, or None (never used, or expired)."""
        async with self._connection() as conn:
            record = await conn.fetchrow(FIND_KEY, key, self._key_cutoff())
        return None if record is None else StoredAnswer(record["fingerprint"], record["status"], record["body"])

    def _key_cutoff(self) -> str:
        """created_at at or before this has expired: 24 h before now."""
        return format_iso(parse_iso(self.now()) - TTL)

    async def _insert(self, sql: str, idempotency: IdempotentWrite | None, *params: Any) -> dict[str, Any]:
        """The INSERT ... RETURNING row. With a key, in one transaction: expired keys purged
        (lazily, so the table stays bounded and an expired copy of this key is gone), the row
        inserted, the key stored with the row as its answer. A concurrent request that stored
        the key first makes the key's INSERT wait for it, then fail (primary key): all of this
        rolls back and asyncpg.UniqueViolationError reaches the caller."""
        if idempotency is None:
            row = await self._fetchrow(sql, *params)
            assert row is not None
            return row
        async with self._connection() as conn:
            # Not `async with conn.transaction()`: its ROLLBACK on the deadline would wait for
            # the server; _connection terminates the connection instead (see there).
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(PURGE_KEYS, self._key_cutoff())
                row = _row(await conn.fetchrow(sql, *params))
                assert row is not None
                await conn.execute(
                    INSERT_KEY, idempotency.key, idempotency.fingerprint, 201, dumps(row).decode("utf-8"), self.now()
                )
            except Exception:
                await transaction.rollback()
                raise
            await transaction.commit()
        return row


def _project_gone() -> ApiError:
    # The project was deleted between the existence check and the write.
    return invalid("project_id", "project_id does not name an existing project")
