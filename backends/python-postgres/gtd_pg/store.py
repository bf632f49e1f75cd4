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
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Any, overload

import asyncpg

from .errors import ApiError, invalid
from .http import dumps, format_iso, now_iso, parse_iso
from .idempotency import TTL, IdempotentWrite, StoredAnswer
from .paging import Position, encode_cursor
from .rrule import next_date, parse_rule
from .transfer import EXPORT_VERSION, Parsed, check_references, first_on_cycle, referenced_ids

# Served members in the contract's order; `seq` (insertion order) is read for cursors only.
TASK_SELECT = """SELECT t.seq, t.id, t.title, t.notes, t.status, t.project_id, t.context, t.due_date, t.defer_until,
  t.repeat_rule, t.repeat_from,
  COALESCE((SELECT array_agg(d.blocker_id ORDER BY d.blocker_id) FROM task_dependencies d WHERE d.task_id = t.id),
           '{}') AS blocked_by,
  {blocked} AS blocked,
  t.completed_at, t.created_at, t.updated_at
FROM tasks t"""
# Open, with at least one open blocker. Computed on read, so completing a blocker changes
# nothing stored on the tasks it blocks (their updated_at stays).
BLOCKED = (
    "(t.status <> 'done' AND EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id "
    "WHERE d.task_id = t.id AND b.status <> 'done'))"
)
TASK_SELECT = TASK_SELECT.replace("{blocked}", BLOCKED)
# task_counts in the same query as the projects (one aggregate per project over tasks_by_project).
PROJECT_SELECT = """SELECT p.seq, p.id, p.name, p.status, p.notes, p.reviewed_on,
  c.n_open, c.n_done, c.n_next, p.created_at, p.updated_at
FROM projects p CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE t.status <> 'done') AS n_open, count(*) FILTER (WHERE t.status = 'done') AS n_done,
         count(*) FILTER (WHERE t.status = 'next') AS n_next
  FROM tasks t WHERE t.project_id = p.id) c"""
# Newest first; `seq` (insertion order) breaks ties within one millisecond.
NEWEST_FIRST = "ORDER BY {0}.created_at DESC, {0}.seq DESC"
OLDEST_FIRST = "ORDER BY {0}.created_at, {0}.seq"

TASK_WRITABLE = ("title", "notes", "status", "project_id", "context", "due_date", "defer_until")
PROJECT_WRITABLE = ("name", "status", "notes", "reviewed_on")
ESCAPED_COLUMNS = frozenset({"title", "name", "notes", "context"})
# ASCII case folding for `q` (contract v2 §3): lower() under the "C" collation folds A-Z only
# (PostgreSQL's ASCII path for C); ILIKE, or lower() under a libc/ICU collation, would fold
# other letters too. 50 times faster than translate() with an A-Z table on 10,000 tasks.
# The query's side is folded in Python (ascii_fold).
ASCII_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ASCII_LOWER = ASCII_UPPER.lower()
# pg_advisory_xact_lock key ("gtdd") serialising dependency writes: two concurrent PATCHes
# could otherwise each pass the cycle check and together close a cycle.
DEPENDENCY_LOCK = 0x67746464

#: /health's deadline: well inside the gateway's HEALTH_TIMEOUT_MS (2000 by default), so a
#: stopped, unreachable or hung PostgreSQL is a prompt 503, never a hang.
HEALTH_TIMEOUT_S = 1.0
#: POST /import's deadline (or DB_TIMEOUT_MS if longer): validating and writing a large
#: document in one transaction takes longer than one ordinary request's queries.
IMPORT_TIMEOUT_S = 60.0

INSERT_TASK = (
    "INSERT INTO tasks (id, title, notes, status, project_id, context, due_date, defer_until, repeat_rule, "
    "repeat_from, completed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
)
INSERT_PROJECT = (
    "INSERT INTO projects (id, name, status, notes, reviewed_on, created_at, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $6)"
)
INSERT_DEPENDENCIES = "INSERT INTO task_dependencies (task_id, blocker_id) SELECT * FROM unnest($1::text[], $2::text[])"
# A blocker reaching the task through blockers' blockers would close a cycle.
REACHES = """WITH RECURSIVE reach(id) AS (
  SELECT unnest($1::text[]) COLLATE "C"
  UNION
  SELECT d.blocker_id FROM task_dependencies d JOIN reach r ON d.task_id = r.id
) SELECT EXISTS (SELECT 1 FROM reach WHERE id = $2)"""
FIND_KEY = "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = $1 AND created_at > $2"
PURGE_KEYS = "DELETE FROM idempotency_keys WHERE created_at <= $1"
INSERT_KEY = "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES ($1, $2, $3, $4, $5)"

ESC = "\U0010ffff"
_DECODE_RE = re.compile(ESC + "(.)", re.DOTALL)


def encode_text(value: str | None) -> str | None:
    if value is None or ("\x00" not in value and ESC not in value):
        return value
    return value.replace(ESC, ESC + ESC).replace("\x00", ESC + "0")


# The overloads let a caller that knows the column is non-null keep a plain str.
@overload
def decode_text(value: str) -> str: ...
@overload
def decode_text(value: str | None) -> str | None: ...
def decode_text(value: str | None) -> str | None:
    if value is None or ESC not in value:
        return value
    return _DECODE_RE.sub(lambda m: "\x00" if m[1] == "0" else m[1], value)


def _db_value(column: str, value: Any) -> Any:
    return encode_text(value) if column in ESCAPED_COLUMNS else value


def _task(record: asyncpg.Record) -> dict[str, Any]:
    """A served task from a TASK_SELECT row (its `seq` left out)."""
    rule, repeat_from = record["repeat_rule"], record["repeat_from"]
    return {
        "id": record["id"],
        "title": decode_text(record["title"]),
        "notes": decode_text(record["notes"]),
        "status": record["status"],
        "project_id": record["project_id"],
        "context": decode_text(record["context"]),
        "due_date": record["due_date"],
        "defer_until": record["defer_until"],
        "repeat": None if rule is None else {"rule": rule, "from": repeat_from},
        "blocked_by": list(record["blocked_by"]),
        "blocked": record["blocked"],
        "completed_at": record["completed_at"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }


def _project(record: asyncpg.Record) -> dict[str, Any]:
    """A served project from a PROJECT_SELECT row (its `seq` left out)."""
    return {
        "id": record["id"],
        "name": decode_text(record["name"]),
        "status": record["status"],
        "notes": decode_text(record["notes"]),
        "reviewed_on": record["reviewed_on"],
        "task_counts": {"open": record["n_open"], "done": record["n_done"], "next": record["n_next"]},
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
    }


def ascii_fold(value: str) -> str:
    """A-Z to a-z, every other character as it is (the `q` match, contract v2 §3)."""
    return value.translate(_ASCII_FOLD)


_ASCII_FOLD = str.maketrans(ASCII_UPPER, ASCII_LOWER)


class _Params:
    """Positional parameters for one statement: `add(value)` returns its `$n`."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def deferred_sql(today: str) -> str:
    """Open with defer_until after today (`today` is a `$n`). Never NULL, so NOT works."""
    return f"(t.status <> 'done' AND t.defer_until IS NOT NULL AND t.defer_until > {today})"


def _task_conditions(filter: Mapping[str, Any], today: str, params: _Params) -> list[str]:
    """The WHERE conditions of GET /tasks (contract v2 §3), parameters added to `params`."""
    conditions: list[str] = []
    for column in ("status", "project_id", "context"):
        if column in filter:
            conditions.append(f"t.{column} = {params.add(_db_value(column, filter[column]))}")
    if "deferred" in filter or "available" in filter:
        deferred = deferred_sql(params.add(today))
        if "deferred" in filter:
            conditions.append(deferred if filter["deferred"] else f"NOT {deferred}")
        if "available" in filter:
            available = f"(t.status <> 'done' AND NOT {deferred} AND NOT {BLOCKED})"
            conditions.append(available if filter["available"] else f"NOT {available}")
    if "blocked" in filter:
        conditions.append(BLOCKED if filter["blocked"] else f"NOT {BLOCKED}")
    if "q" in filter:
        # strpos, not LIKE: %, _ and \ in q are literal characters.
        q = params.add(ascii_fold(encode_text(filter["q"]) or ""))
        conditions.append(
            f'(strpos(lower(t.title COLLATE "C"), {q}) > 0 OR strpos(lower(t.notes COLLATE "C"), {q}) > 0)'
        )
    return conditions


def _page(
    sql: str, alias: str, conditions: list[str], params: _Params, filter: Mapping[str, Any]
) -> tuple[str, int | None]:
    """`sql` + WHERE + newest first + the keyset page (limit + 1 rows: one more tells whether
    a next page exists). Returns the statement and the limit (None: the whole list)."""
    if "cursor" in filter:
        position = filter["cursor"]
        conditions = [
            *conditions,
            f"({alias}.created_at, {alias}.seq) < ({params.add(position.created_at)}, {params.add(position.seq)})",
        ]
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    statement = f"{sql}{where} {NEWEST_FIRST.format(alias)}"
    limit: int | None = filter.get("limit")
    if limit is not None:
        statement += f" LIMIT {params.add(limit + 1)}"
    return statement, limit


def _paged(records: list[asyncpg.Record], limit: int | None) -> tuple[list[asyncpg.Record], str | None]:
    if limit is None or len(records) <= limit:
        return records, None
    last = records[limit - 1]
    return records[:limit], encode_cursor(Position(last["created_at"], last["seq"]))


def _rows_changed(status: str) -> int:
    """asyncpg's command tag, e.g. 'DELETE 1'."""
    try:
        return int(status.rsplit(" ", 1)[-1])
    except ValueError:
        return 0


def _foreign_key_error(exc: asyncpg.ForeignKeyViolationError) -> ApiError:
    """A referenced row was deleted between the existence check and the write."""
    if "project" in (exc.constraint_name or ""):
        return invalid("project_id", "project_id does not name an existing project")
    return invalid("blocked_by", "blocked_by names a task that does not exist")


def _occurrence_dates(task: Mapping[str, Any], today: str) -> tuple[str | None, str | None] | None:
    """(due_date, defer_until) of the next occurrence of a task being completed (contract v2 §5),
    from its values after the completing PATCH; None when the rule gives no date in years
    1-9999 (the series ends there)."""
    rule = parse_rule(task["repeat_rule"])
    if rule is None:  # pragma: no cover - stored rules were validated and are canonical
        return None
    due, defer = task["due_date"], task["defer_until"]
    anchor = (due or defer or today) if task["repeat_from"] == "due" else today
    try:
        after = next_date(rule, anchor)
        if due is None:
            return None, after
        if defer is None:
            return after, None
        # The same lead time between defer_until and due_date.
        lead = date.fromisoformat(due) - date.fromisoformat(defer)
        return after, (date.fromisoformat(after) - lead).isoformat()
    except (ValueError, OverflowError):
        return None


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

    def today(self) -> str:
        """The date of the backend's clock in UTC ("today" when a request sends none)."""
        return self.now()[:10]

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

    @asynccontextmanager
    async def _transaction(self, timeout_s: float | None = None) -> AsyncIterator[asyncpg.Connection]:
        """A connection inside a transaction, committed when the block ends, rolled back when it raises."""
        async with self._connection(timeout_s) as conn:
            # Not `async with conn.transaction()`: its ROLLBACK on the deadline would wait for
            # the server; _connection terminates the connection instead (see there).
            transaction = conn.transaction()
            await transaction.start()
            try:
                yield conn
            except Exception:
                await transaction.rollback()
                raise
            await transaction.commit()

    async def _execute(self, sql: str, *params: Any) -> str:
        async with self._connection() as conn:
            return str(await conn.execute(sql, *params))

    async def ping(self, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        """Raises if the schema cannot be queried in time; /health turns that into a 503."""
        async with self._connection(timeout_s) as conn:
            await conn.fetchrow("SELECT (SELECT 1 FROM tasks LIMIT 1) AS t, (SELECT 1 FROM projects LIMIT 1) AS p")

    # -- tasks -----------------------------------------------------------------------

    async def list_tasks(self, filter: Mapping[str, Any], today: str) -> tuple[list[dict[str, Any]], str | None]:
        """One page of GET /tasks (the whole list without `limit`) and the next page's cursor."""
        params = _Params()
        sql, limit = _page(TASK_SELECT, "t", _task_conditions(filter, today, params), params, filter)
        async with self._connection() as conn:
            records = await conn.fetch(sql, *params.values)
        page, next_cursor = _paged(records, limit)
        return [_task(r) for r in page], next_cursor

    async def get_task(self, id: str) -> dict[str, Any] | None:
        async with self._connection() as conn:
            return await _task_by_id(conn, id)

    async def task_exists(self, id: str) -> bool:
        async with self._connection() as conn:
            return await conn.fetchval("SELECT 1 FROM tasks WHERE id = $1", id) is not None

    async def create_task(
        self, fields: Mapping[str, Any], idempotency: IdempotentWrite | None = None
    ) -> dict[str, Any]:
        """Inserts a task (and its dependencies) after the reference checks; with `idempotency`,
        its key and answer are stored in the same transaction."""
        now = self.now()
        id = self.new_id()
        status = fields.get("status") or "inbox"
        repeat = fields.get("repeat")
        try:
            async with self._transaction() as conn:
                await _check_references(conn, fields, None)
                if idempotency is not None:
                    await conn.execute(PURGE_KEYS, self._key_cutoff())
                await conn.execute(
                    INSERT_TASK,
                    id,
                    encode_text(fields["title"]),
                    encode_text(fields.get("notes")),
                    status,
                    fields.get("project_id"),
                    encode_text(fields.get("context")),
                    fields.get("due_date"),
                    fields.get("defer_until"),
                    None if repeat is None else repeat["rule"],
                    None if repeat is None else repeat["from"],
                    now if status == "done" else None,
                    now,
                )
                if fields.get("blocked_by"):
                    await conn.execute(INSERT_DEPENDENCIES, [id] * len(fields["blocked_by"]), fields["blocked_by"])
                task = await _task_by_id(conn, id)
                assert task is not None
                if idempotency is not None:
                    await _store_key(conn, idempotency, task, now)
        except asyncpg.ForeignKeyViolationError as exc:
            raise _foreign_key_error(exc) from None
        return task

    async def update_task(
        self, id: str, fields: Mapping[str, Any], today: str
    ) -> tuple[dict[str, Any], str | None] | None:
        """PATCH: the task after the change and the id of the next occurrence it created (if
        completing a recurring task), all in one transaction; None if the task is gone."""
        now = self.now()
        try:
            async with self._transaction() as conn:
                if fields.get("blocked_by"):
                    # Before the row lock, in the order import_document takes them (no deadlock):
                    # dependency writes take turns, so the cycle check sees a settled graph.
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", DEPENDENCY_LOCK)
                # The row lock makes concurrent completions of one task take turns: only the first
                # sees it open, so only one next occurrence is created. NO KEY UPDATE (what the
                # UPDATE takes anyway), not UPDATE: the latter would block the foreign-key checks of
                # a concurrent PATCH naming this task in blocked_by while holding DEPENDENCY_LOCK,
                # a deadlock.
                old = await conn.fetchrow("SELECT status FROM tasks WHERE id = $1 FOR NO KEY UPDATE", id)
                if old is None:
                    return None
                await _check_references(conn, fields, id)
                params = _Params()
                sets = [
                    f"{column} = {params.add(_db_value(column, fields[column]))}"
                    for column in TASK_WRITABLE
                    if column in fields
                ]
                if "repeat" in fields:
                    repeat = fields["repeat"]
                    sets.append(f"repeat_rule = {params.add(None if repeat is None else repeat['rule'])}")
                    sets.append(f"repeat_from = {params.add(None if repeat is None else repeat['from'])}")
                was_done = old["status"] == "done"
                is_done = fields.get("status", old["status"]) == "done"
                if is_done != was_done:
                    sets.append(f"completed_at = {params.add(now if is_done else None)}")
                sets.append(f"updated_at = {params.add(now)}")
                changed = await conn.fetchrow(
                    f"UPDATE tasks SET {', '.join(sets)} WHERE id = {params.add(id)} RETURNING *", *params.values
                )
                if "blocked_by" in fields:
                    await conn.execute("DELETE FROM task_dependencies WHERE task_id = $1", id)
                    if fields["blocked_by"]:
                        await conn.execute(INSERT_DEPENDENCIES, [id] * len(fields["blocked_by"]), fields["blocked_by"])
                next_id = None
                if is_done and not was_done and changed["repeat_rule"] is not None:
                    next_id = await self._create_occurrence(conn, changed, old["status"], today, now)
                task = await _task_by_id(conn, id)
                assert task is not None
        except asyncpg.ForeignKeyViolationError as exc:
            raise _foreign_key_error(exc) from None
        return task, next_id

    async def _create_occurrence(
        self, conn: asyncpg.Connection, task: asyncpg.Record, status: str, today: str, now: str
    ) -> str | None:
        """The next occurrence of a recurring task being completed (contract v2 §5): a new open
        task with the status it had before, the next dates, no dependencies."""
        dates = _occurrence_dates(task, today)
        if dates is None:
            return None
        id = self.new_id()
        await conn.execute(
            INSERT_TASK,
            id,
            task["title"],  # still encoded: copied row to row
            task["notes"],
            status,
            task["project_id"],
            task["context"],
            dates[0],
            dates[1],
            task["repeat_rule"],
            task["repeat_from"],
            None,
            now,
        )
        return id

    async def delete_task(self, id: str) -> bool:
        """The dependencies naming it go with it (ON DELETE CASCADE; other tasks' updated_at stays)."""
        return _rows_changed(await self._execute("DELETE FROM tasks WHERE id = $1", id)) > 0

    async def counts(self, today: str) -> dict[str, dict[str, int]]:
        """GET /counts in one query: each number is the length of the list answer it stands for;
        `contexts` maps each open task's context, as stored, to its number of open tasks."""
        open_statuses = ("inbox", "next", "waiting", "scheduled", "someday")
        per_status = ", ".join(f"count(*) FILTER (WHERE status = '{s}' AND NOT deferred) AS {s}" for s in open_statuses)
        sql = f"""SELECT {per_status},
  count(*) FILTER (WHERE status = 'done') AS done,
  count(*) FILTER (WHERE deferred) AS deferred,
  count(*) FILTER (WHERE blocked) AS blocked,
  count(*) FILTER (WHERE status <> 'done' AND NOT deferred AND NOT blocked) AS available,
  (SELECT count(*) FROM projects WHERE status = 'active') AS p_active,
  (SELECT count(*) FROM projects WHERE status = 'someday') AS p_someday,
  (SELECT count(*) FROM projects WHERE status = 'done') AS p_done,
  ARRAY(SELECT ROW(context, count(*)) FROM tasks WHERE status <> 'done' AND context IS NOT NULL
        GROUP BY context) AS contexts
FROM (SELECT t.status, {deferred_sql("$1")} AS deferred, {BLOCKED} AS blocked FROM tasks t) x"""
        async with self._connection() as conn:
            record = await conn.fetchrow(sql, today)
        tasks = {key: record[key] for key in (*open_statuses, "done", "deferred", "blocked", "available")}
        projects = {key: record[f"p_{key}"] for key in ("active", "someday", "done")}
        # Grouped on the stored (escaped) spelling, so "@home" and "@HOME" stay two keys; the escaping
        # is one-to-one, so decoding cannot merge two groups.
        contexts = {decode_text(context): n for context, n in record["contexts"]}
        return {"tasks": tasks, "projects": projects, "contexts": contexts}

    # -- projects --------------------------------------------------------------------

    async def list_projects(self, filter: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        params = _Params()
        conditions = [f"p.status = {params.add(filter['status'])}"] if "status" in filter else []
        sql, limit = _page(PROJECT_SELECT, "p", conditions, params, filter)
        async with self._connection() as conn:
            records = await conn.fetch(sql, *params.values)
        page, next_cursor = _paged(records, limit)
        return [_project(r) for r in page], next_cursor

    async def get_project(self, id: str) -> dict[str, Any] | None:
        async with self._connection() as conn:
            return await _project_by_id(conn, id)

    async def project_exists(self, id: str) -> bool:
        async with self._connection() as conn:
            return await conn.fetchval("SELECT 1 FROM projects WHERE id = $1", id) is not None

    async def create_project(
        self, fields: Mapping[str, Any], idempotency: IdempotentWrite | None = None
    ) -> dict[str, Any]:
        """Inserts a project; `idempotency` as for create_task."""
        now = self.now()
        id = self.new_id()
        async with self._transaction() as conn:
            if idempotency is not None:
                await conn.execute(PURGE_KEYS, self._key_cutoff())
            await conn.execute(
                INSERT_PROJECT,
                id,
                encode_text(fields["name"]),
                fields.get("status") or "active",
                encode_text(fields.get("notes")),
                fields.get("reviewed_on"),
                now,
            )
            project = await _project_by_id(conn, id)
            assert project is not None
            if idempotency is not None:
                await _store_key(conn, idempotency, project, now)
        return project

    async def update_project(self, id: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        params = _Params()
        sets = [f"{c} = {params.add(_db_value(c, fields[c]))}" for c in PROJECT_WRITABLE if c in fields]
        sets.append(f"updated_at = {params.add(self.now())}")
        async with self._transaction() as conn:
            status = await conn.execute(
                f"UPDATE projects SET {', '.join(sets)} WHERE id = {params.add(id)}", *params.values
            )
            return await _project_by_id(conn, id) if _rows_changed(status) else None

    async def delete_project(self, id: str) -> bool:
        """The schema's ON DELETE SET NULL detaches the project's tasks (their updated_at stays)."""
        return _rows_changed(await self._execute("DELETE FROM projects WHERE id = $1", id)) > 0

    # -- export / import -------------------------------------------------------------

    async def export(self) -> dict[str, Any]:
        """GET /export: every project and task, oldest first, one snapshot (one transaction)."""
        async with self._transaction() as conn:
            await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            projects = await conn.fetch(f"{PROJECT_SELECT} {OLDEST_FIRST.format('p')}")
            tasks = await conn.fetch(f"{TASK_SELECT} {OLDEST_FIRST.format('t')}")
        exported_projects = [_project(r) for r in projects]
        for project in exported_projects:
            del project["task_counts"]
        exported_tasks = [_task(r) for r in tasks]
        for task in exported_tasks:
            del task["blocked"]
        return {
            "version": EXPORT_VERSION,
            "exported_at": self.now(),
            "projects": exported_projects,
            "tasks": exported_tasks,
        }

    async def import_document(self, parsed: Parsed) -> dict[str, dict[str, int]]:
        """POST /import after parse_document: the reference and cycle checks against the store,
        then the merge by id and updated_at, all in one transaction (nothing written on a 422)."""
        async with self._transaction(max(self.timeout_s, IMPORT_TIMEOUT_S)) as conn:
            # Dependency writes take turns (see update_task), so the cycle check sees a settled graph.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", DEPENDENCY_LOCK)
            ref_projects, ref_tasks = referenced_ids(parsed)
            project_ids = list({p["id"] for p in parsed.projects} | ref_projects)
            task_ids = list({t["id"] for t in parsed.tasks} | ref_tasks)
            stored_projects = {
                r["id"]: r["updated_at"]
                for r in await conn.fetch("SELECT id, updated_at FROM projects WHERE id = ANY($1::text[])", project_ids)
            }
            stored_tasks = {
                r["id"]: r["updated_at"]
                for r in await conn.fetch("SELECT id, updated_at FROM tasks WHERE id = ANY($1::text[])", task_ids)
            }
            check_references(parsed, stored_projects, stored_tasks)

            def applies(item: Mapping[str, Any], stored: Mapping[str, str]) -> bool:
                return item["id"] not in stored or item["updated_at"] > stored[item["id"]]

            new_projects = [p for p in parsed.projects if p["id"] not in stored_projects]
            changed_projects = [
                p for p in parsed.projects if p["id"] in stored_projects and applies(p, stored_projects)
            ]
            applied = [(i, t) for i, t in enumerate(parsed.tasks) if applies(t, stored_tasks)]
            applied_ids = {t["id"] for _, t in applied}
            if any(t["blocked_by"] for _, t in applied):
                # The merged graph: stored edges of the tasks kept, the document's of those replaced.
                edges: dict[str, list[str]] = {}
                for record in await conn.fetch("SELECT task_id, blocker_id FROM task_dependencies"):
                    if record["task_id"] not in applied_ids:
                        edges.setdefault(record["task_id"], []).append(record["blocker_id"])
                for _, task in applied:
                    edges[task["id"]] = task["blocked_by"]
                cycle_at = first_on_cycle(edges, ((i, t["id"]) for i, t in applied))
                if cycle_at is not None:
                    raise invalid(f"tasks[{cycle_at}].blocked_by", "blocked_by would make a dependency cycle")
            try:
                await _write_projects(conn, new_projects, changed_projects)
                await _write_tasks(conn, [t for _, t in applied], stored_tasks)
            except asyncpg.ForeignKeyViolationError:
                # A referenced row was deleted by another request during the import.
                raise invalid(None, "a project or task the document refers to was deleted meanwhile") from None
        tasks_new = sum(1 for _, t in applied if t["id"] not in stored_tasks)
        return {
            "projects": {
                "created": len(new_projects),
                "updated": len(changed_projects),
                "unchanged": len(parsed.projects) - len(new_projects) - len(changed_projects),
            },
            "tasks": {
                "created": tasks_new,
                "updated": len(applied) - tasks_new,
                "unchanged": len(parsed.tasks) - len(applied),
            },
        }

    # -- Idempotency-Key -------------------------------------------------------------

    async def find_idempotency_key(self, key: str) -> StoredAnswer | None:
        """The answer stored for `key` within the last 24 h, or None (never used, or expired)."""
        async with self._connection() as conn:
            record = await conn.fetchrow(FIND_KEY, key, self._key_cutoff())
        return None if record is None else StoredAnswer(record["fingerprint"], record["status"], record["body"])

    def _key_cutoff(self) -> str:
        """created_at at or before this has expired: 24 h before now."""
        return format_iso(parse_iso(self.now()) - TTL)


async def _task_by_id(conn: asyncpg.Connection, id: str) -> dict[str, Any] | None:
    record = await conn.fetchrow(f"{TASK_SELECT} WHERE t.id = $1", id)
    return None if record is None else _task(record)


async def _project_by_id(conn: asyncpg.Connection, id: str) -> dict[str, Any] | None:
    record = await conn.fetchrow(f"{PROJECT_SELECT} WHERE p.id = $1", id)
    return None if record is None else _project(record)


async def _store_key(conn: asyncpg.Connection, idempotency: IdempotentWrite, answer: Any, now: str) -> None:
    """The key with its 201 answer, in the transaction that created the row. A concurrent
    request that stored the key first makes this INSERT wait for it, then fail (primary key):
    the whole transaction rolls back and asyncpg.UniqueViolationError reaches create_once."""
    await conn.execute(INSERT_KEY, idempotency.key, idempotency.fingerprint, 201, dumps(answer).decode("utf-8"), now)


async def _check_references(conn: asyncpg.Connection, fields: Mapping[str, Any], id: str | None) -> None:
    """After the field checks, in the contract's order: project_id exists; blocked_by names
    existing tasks, not the task itself, none twice; then (PATCH) no dependency cycle."""
    project_id = fields.get("project_id")
    if project_id is not None and await conn.fetchval("SELECT 1 FROM projects WHERE id = $1", project_id) is None:
        raise invalid("project_id", "project_id does not name an existing project")
    blockers = fields.get("blocked_by")
    if not blockers:
        return
    if len(set(blockers)) != len(blockers):
        raise invalid("blocked_by", "blocked_by names a task twice")
    if id in blockers:
        raise invalid("blocked_by", "a task cannot be blocked by itself")
    found = await conn.fetchval("SELECT count(*) FROM tasks WHERE id = ANY($1::text[])", blockers)
    if found != len(blockers):
        raise invalid("blocked_by", "blocked_by names a task that does not exist")
    # Nothing names a task being created, so it cannot close a cycle. (update_task holds
    # DEPENDENCY_LOCK here.)
    if id is not None and await conn.fetchval(REACHES, blockers, id):
        raise invalid("blocked_by", "blocked_by would make a dependency cycle")


def _columns(items: Sequence[Mapping[str, Any]], names: Iterable[str]) -> list[list[Any]]:
    """Column arrays for unnest(): one list per name, text columns escaped."""
    return [[_db_value(name, item[name]) for item in items] for name in names]


PROJECT_IMPORT_COLUMNS = ("id", "name", "status", "notes", "reviewed_on", "created_at", "updated_at")
TASK_IMPORT_COLUMNS = (
    "id", "title", "notes", "status", "project_id", "context", "due_date", "defer_until",
    "repeat_rule", "repeat_from", "completed_at", "created_at", "updated_at",
)  # fmt: skip


def _unnest(names: Iterable[str]) -> str:
    """`unnest($1::text[], ...) WITH ORDINALITY AS u(a, ..., ord)` over the given columns."""
    names = list(names)
    arrays = ", ".join(f"${n}::text[]" for n in range(1, len(names) + 1))
    return f"unnest({arrays}) WITH ORDINALITY AS u({', '.join(names)}, ord)"


async def _write_projects(conn: asyncpg.Connection, new: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    columns = PROJECT_IMPORT_COLUMNS
    if new:
        # In document order (ORDER BY ord), so seq keeps the document's order among equal created_at.
        await conn.execute(
            f"INSERT INTO projects ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {_unnest(columns)} ORDER BY ord",
            *_columns(new, columns),
        )
    if changed:
        sets = ", ".join(f"{c} = u.{c}" for c in columns[1:])
        await conn.execute(
            f"UPDATE projects p SET {sets} FROM {_unnest(columns)} WHERE p.id = u.id", *_columns(changed, columns)
        )


async def _write_tasks(conn: asyncpg.Connection, tasks: list[dict[str, Any]], stored: Mapping[str, str]) -> None:
    columns = TASK_IMPORT_COLUMNS
    rows = [
        {
            **task,
            "repeat_rule": None if task["repeat"] is None else task["repeat"]["rule"],
            "repeat_from": None if task["repeat"] is None else task["repeat"]["from"],
        }
        for task in tasks
    ]
    new = [row for row in rows if row["id"] not in stored]
    changed = [row for row in rows if row["id"] in stored]
    if new:
        await conn.execute(
            f"INSERT INTO tasks ({', '.join(columns)}) SELECT {', '.join(columns)} FROM {_unnest(columns)} ORDER BY ord",
            *_columns(new, columns),
        )
    if changed:
        sets = ", ".join(f"{c} = u.{c}" for c in columns[1:])
        await conn.execute(
            f"UPDATE tasks t SET {sets} FROM {_unnest(columns)} WHERE t.id = u.id", *_columns(changed, columns)
        )
        await conn.execute(
            "DELETE FROM task_dependencies WHERE task_id = ANY($1::text[])", [row["id"] for row in changed]
        )
    edges = [(row["id"], blocker) for row in rows for blocker in row["blocked_by"]]
    if edges:
        await conn.execute(INSERT_DEPENDENCIES, [e[0] for e in edges], [e[1] for e in edges])
