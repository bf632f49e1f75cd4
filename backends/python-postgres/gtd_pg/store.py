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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import asyncpg

from .errors import ApiError, invalid
from .http import now_iso

TASK_COLUMNS = "id, title, notes, status, project_id, context, due_date, created_at, updated_at"
PROJECT_COLUMNS = "id, name, status, notes, created_at, updated_at"
# Newest first; `seq` (insertion order) breaks ties within one millisecond.
NEWEST_FIRST = "ORDER BY created_at DESC, seq DESC"

TASK_WRITABLE = ("title", "notes", "status", "project_id", "context", "due_date")
TASK_FILTERABLE = ("status", "project_id", "context")
PROJECT_WRITABLE = ("name", "status", "notes")
PROJECT_FILTERABLE = ("status",)
ESCAPED_COLUMNS = frozenset({"title", "name", "notes", "context"})

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
        timeout_s: float = 10,
    ) -> None:
        self.pool = pool
        self.now = now
        self.new_id = new_id
        self.timeout_s = timeout_s

    async def _fetch(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        records = await self.pool.fetch(sql, *params, timeout=self.timeout_s)
        return [_row(r) for r in records]  # type: ignore[misc]

    async def _fetchrow(self, sql: str, *params: Any) -> dict[str, Any] | None:
        return _row(await self.pool.fetchrow(sql, *params, timeout=self.timeout_s))

    async def ping(self, timeout_s: float = 3) -> None:
        """Raises if the schema cannot be queried in time; /health turns that into a 503."""
        await asyncio.wait_for(
            self.pool.fetchrow("SELECT (SELECT 1 FROM tasks LIMIT 1) AS t, (SELECT 1 FROM projects LIMIT 1) AS p"),
            timeout_s,
        )

    # -- tasks -----------------------------------------------------------------------

    async def list_tasks(self, filter: Mapping[str, Any]) -> list[dict[str, Any]]:
        where, params = _where(filter, TASK_FILTERABLE)
        return await self._fetch(f"SELECT {TASK_COLUMNS} FROM tasks {where} {NEWEST_FIRST}", *params)

    async def get_task(self, id: str) -> dict[str, Any] | None:
        return await self._fetchrow(f"SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1", id)

    async def create_task(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        now = self.now()
        try:
            task = await self._fetchrow(
                "INSERT INTO tasks (id, title, notes, status, project_id, context, due_date, created_at, updated_at) "
                f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {TASK_COLUMNS}",
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
        assert task is not None
        return task

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
        return _rows_changed(await self.pool.execute("DELETE FROM tasks WHERE id = $1", id, timeout=self.timeout_s)) > 0

    # -- projects --------------------------------------------------------------------

    async def list_projects(self, filter: Mapping[str, Any]) -> list[dict[str, Any]]:
        where, params = _where(filter, PROJECT_FILTERABLE)
        return await self._fetch(f"SELECT {PROJECT_COLUMNS} FROM projects {where} {NEWEST_FIRST}", *params)

    async def get_project(self, id: str) -> dict[str, Any] | None:
        return await self._fetchrow(f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1", id)

    async def project_exists(self, id: str) -> bool:
        return await self.pool.fetchval("SELECT 1 FROM projects WHERE id = $1", id, timeout=self.timeout_s) is not None

    async def create_project(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        now = self.now()
        project = await self._fetchrow(
            "INSERT INTO projects (id, name, status, notes, created_at, updated_at) "
            f"VALUES ($1, $2, $3, $4, $5, $5) RETURNING {PROJECT_COLUMNS}",
            self.new_id(),
            encode_text(fields["name"]),
            fields.get("status") or "active",
            encode_text(fields.get("notes")),
            now,
        )
        assert project is not None
        return project

    async def update_project(self, id: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        sets, params = _assignments(fields, PROJECT_WRITABLE)
        params += [self.now(), id]
        sets.append(f"updated_at = ${len(params) - 1}")
        return await self._fetchrow(
            f"UPDATE projects SET {', '.join(sets)} WHERE id = ${len(params)} RETURNING {PROJECT_COLUMNS}", *params
        )

    async def delete_project(self, id: str) -> bool:
        """The schema's ON DELETE SET NULL detaches the project's tasks (their updated_at stays)."""
        return (
            _rows_changed(await self.pool.execute("DELETE FROM projects WHERE id = $1", id, timeout=self.timeout_s)) > 0
        )


def _project_gone() -> ApiError:
    # The project was deleted between the existence check and the write.
    return invalid("project_id", "project_id does not name an existing project")
