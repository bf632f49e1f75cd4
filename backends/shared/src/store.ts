/**
 * All SQL lives here, written once for SQLite and shared by both backends.
 * A backend only supplies a SqlDriver: four async methods over its native
 * database (bun:sqlite is synchronous and is simply wrapped; D1 is async).
 *
 * Lists of ids and bulk rows travel as ONE JSON parameter read with
 * json_each(): D1 allows at most 100 bound parameters per statement, and one
 * statement per chunk (not per row) keeps a 10,000-task import a few
 * statements long on both drivers.
 */
import type { Graph } from "./dependencies.ts";
import { invalid } from "./errors.ts";
import { IDEMPOTENCY_TTL_MS, type IdempotentWrite, type StoredAnswer } from "./idempotency.ts";
import { cycleField, type ImportDocument } from "./import.ts";
import { encodeCursor } from "./paging.ts";
import { addDays, daysBetween, nextDate, parseRule } from "./rrule.ts";
import type {
  Counts,
  ExportProject,
  ExportTask,
  ImportTally,
  Page,
  Project,
  ProjectFields,
  ProjectFilter,
  Task,
  TaskFields,
  TaskFilter,
  TaskStatus,
} from "./types.ts";

export type SqlValue = string | number | null;

export interface SqlDriver {
  /** All rows of a query. */
  all<T>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** First row of a query, or null. */
  first<T>(sql: string, params?: SqlValue[]): Promise<T | null>;
  /** A statement without rows; returns the number of rows changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
  /**
   * Statements without rows, in order, in ONE write transaction: all of them
   * commit or none. Returns the number of rows each one changed.
   */
  batch(statements: SqlStatement[]): Promise<number[]>;
}

export interface SqlStatement {
  sql: string;
  params: SqlValue[];
}

export interface StoreOptions {
  /** Current time as an RFC 3339 UTC string; injectable for tests. */
  now?: () => string;
  /** New resource id; injectable for tests. */
  newId?: () => string;
  /** Largest JSON parameter of one bulk statement, in characters (D1 caps a value at 2 MB). */
  chunkChars?: number;
}

/** A list page as served: the items and where the next page starts. */
export interface Listed<T> {
  items: T[];
  next_cursor: string | null;
}

// --- SQL fragments -------------------------------------------------------------

// `t` is the task of the row. A done task is never blocked or deferred.
const BLOCKED = `(t.status <> 'done' AND EXISTS (
  SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id
  WHERE d.task_id = t.id AND b.status <> 'done'))`;
// One `?`: today. defer_until IS NOT NULL keeps the expression two-valued (never NULL).
const DEFERRED = "(t.status <> 'done' AND t.defer_until IS NOT NULL AND t.defer_until > ?)";

const TASK_SELECT = `SELECT t.seq, t.id, t.title, t.notes, t.status, t.project_id, t.context, t.due_date,
  t.defer_until, t.repeat_rule, t.repeat_from,
  (SELECT group_concat(d.blocker_id) FROM task_dependencies d WHERE d.task_id = t.id) AS blocked_by,
  ${BLOCKED} AS blocked, t.completed_at, t.created_at, t.updated_at
  FROM tasks t`;

const PROJECT_SELECT = `SELECT p.seq, p.id, p.name, p.status, p.notes, p.reviewed_on,
  (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status <> 'done') AS open_count,
  (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'done') AS done_count,
  (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'next') AS next_count,
  p.created_at, p.updated_at
  FROM projects p`;

const TASK_COLUMNS = [
  "id",
  "title",
  "notes",
  "status",
  "project_id",
  "context",
  "due_date",
  "defer_until",
  "repeat_rule",
  "repeat_from",
  "completed_at",
  "created_at",
  "updated_at",
] as const;
const PROJECT_COLUMNS = ["id", "name", "status", "notes", "reviewed_on", "created_at", "updated_at"] as const;

const placeholders = (n: number) => Array(n).fill("?").join(", ");
const INSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS.join(", ")}) VALUES (${placeholders(TASK_COLUMNS.length)})`;
const INSERT_PROJECT = `INSERT INTO projects (${PROJECT_COLUMNS.join(", ")}) VALUES (${placeholders(PROJECT_COLUMNS.length)})`;
const INSERT_BLOCKERS = "INSERT INTO task_dependencies (task_id, blocker_id) SELECT ?, value FROM json_each(?)";

/**
 * Bulk upsert from one JSON array of rows (each an array in `columns` order),
 * in array order so that `seq` follows the document. `WHERE true` is SQLite's
 * required disambiguation between INSERT … SELECT and ON CONFLICT.
 */
function upsertFromJson(table: string, columns: readonly string[]): string {
  const values = columns.map((_, i) => `json_extract(j.value, '$[${i}]')`).join(", ");
  const updates = columns
    .filter((c) => c !== "id")
    .map((c) => `${c} = excluded.${c}`)
    .join(", ");
  return `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${values} FROM json_each(?) j WHERE true
    ORDER BY j.key ON CONFLICT (id) DO UPDATE SET ${updates}`;
}
const UPSERT_TASKS = upsertFromJson("tasks", TASK_COLUMNS);
const UPSERT_PROJECTS = upsertFromJson("projects", PROJECT_COLUMNS);

const NEWEST_FIRST = (alias: string) => `ORDER BY ${alias}.created_at DESC, ${alias}.seq DESC`;
const OLDEST_FIRST = (alias: string) => `ORDER BY ${alias}.created_at, ${alias}.seq`;

interface TaskRow {
  seq: number;
  id: string;
  title: string;
  notes: string | null;
  status: TaskStatus;
  project_id: string | null;
  context: string | null;
  due_date: string | null;
  defer_until: string | null;
  repeat_rule: string | null;
  repeat_from: "due" | "completion" | null;
  blocked_by: string | null;
  blocked: number;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
}

interface ProjectRow {
  seq: number;
  id: string;
  name: string;
  status: Project["status"];
  notes: string | null;
  reviewed_on: string | null;
  open_count: number;
  done_count: number;
  next_count: number;
  created_at: string;
  updated_at: string;
}

/** A row as served, members in the contract's order (JSON.stringify of it matches a GET). */
function toTask(r: TaskRow): Task {
  return {
    id: r.id,
    title: r.title,
    notes: r.notes,
    status: r.status,
    project_id: r.project_id,
    context: r.context,
    due_date: r.due_date,
    defer_until: r.defer_until,
    repeat: r.repeat_rule === null || r.repeat_from === null ? null : { rule: r.repeat_rule, from: r.repeat_from },
    blocked_by: r.blocked_by ? r.blocked_by.split(",").sort() : [],
    blocked: Boolean(r.blocked),
    completed_at: r.completed_at,
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

function toProject(r: ProjectRow): Project {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    notes: r.notes,
    reviewed_on: r.reviewed_on,
    task_counts: { open: r.open_count, done: r.done_count, next: r.next_count },
    created_at: r.created_at,
    updated_at: r.updated_at,
  };
}

/** A task's column values in TASK_COLUMNS order. */
function taskValues(t: ExportTask): SqlValue[] {
  return [
    t.id,
    t.title,
    t.notes,
    t.status,
    t.project_id,
    t.context,
    t.due_date,
    t.defer_until,
    t.repeat?.rule ?? null,
    t.repeat?.from ?? null,
    t.completed_at,
    t.created_at,
    t.updated_at,
  ];
}

const projectValues = (p: ExportProject): SqlValue[] => PROJECT_COLUMNS.map((c) => p[c]);

/**
 * Search text folded the way SQLite's lower() folds (A-Z only; no ICU in
 * bun:sqlite or D1), so "contains, ASCII case-insensitive" is
 * instr(lower(column), fold(q)) > 0. Not LIKE: D1 refuses LIKE patterns over
 * 50 bytes, and instr has no wildcards to escape.
 */
const asciiLower = (q: string) => q.replace(/[A-Z]/g, (c) => c.toLowerCase());

/** WHERE clauses and their parameters, built in order (positional `?`). */
class Conditions {
  readonly clauses: string[] = [];
  readonly params: SqlValue[] = [];

  add(clause: string, ...params: SqlValue[]): void {
    this.clauses.push(clause);
    this.params.push(...params);
  }

  get sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(" AND ")}` : "";
  }
}

/** Keyset paging: rows after the cursor's position, newest first, one row more than the page. */
function pageOf(alias: string, page: Page, where: Conditions): { sql: string; params: SqlValue[] } {
  if (page.cursor) {
    const { createdAt, seq } = page.cursor;
    where.add(`(${alias}.created_at < ? OR (${alias}.created_at = ? AND ${alias}.seq < ?))`, createdAt, createdAt, seq);
  }
  const limit = page.limit === undefined ? "" : ` LIMIT ${page.limit + 1}`;
  return { sql: `${where.sql} ${NEWEST_FIRST(alias)}${limit}`, params: where.params };
}

function paged<R extends { seq: number; created_at: string }, T>(
  rows: R[],
  page: Page,
  serve: (row: R) => T,
): Listed<T> {
  if (page.limit === undefined || rows.length <= page.limit) return { items: rows.map(serve), next_cursor: null };
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return { items: shown.map(serve), next_cursor: encodeCursor({ createdAt: last.created_at, seq: last.seq }) };
}

/** Splits rows into JSON arrays of at most about `budget` characters each (at least one row each). */
function jsonChunks(rows: readonly unknown[], budget: number): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    if (current.length > 0 && size + text.length + 1 > budget) {
      chunks.push(`[${current.join(",")}]`);
      current = [];
      size = 2;
    }
    current.push(text);
    size += text.length + 1;
  }
  if (current.length > 0) chunks.push(`[${current.join(",")}]`);
  return chunks;
}

export class Store {
  private readonly now: () => string;
  private readonly newId: () => string;
  private readonly chunkChars: number;

  constructor(
    private readonly db: SqlDriver,
    options: StoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date().toISOString());
    this.newId = options.newId ?? (() => crypto.randomUUID());
    this.chunkChars = options.chunkChars ?? 512 * 1024;
  }

  /** The date of the store's clock in UTC: "today" when a request does not say. */
  today(): string {
    return this.now().slice(0, 10);
  }

  /** Throws if the schema cannot be queried; /health turns that into a 503. */
  async ping(): Promise<void> {
    await this.db.first("SELECT (SELECT 1 FROM tasks LIMIT 1) AS t, (SELECT 1 FROM projects LIMIT 1) AS p");
  }

  // --- tasks -----------------------------------------------------------------

  /** One page of tasks matching every filter given, newest first; `blocked` computed in the same query. */
  async listTasks(filter: TaskFilter): Promise<Listed<Task>> {
    const where = new Conditions();
    const today = filter.today ?? this.today();
    for (const column of ["status", "project_id", "context"] as const) {
      const value = filter[column];
      if (value !== undefined) where.add(`t.${column} = ?`, value);
    }
    if (filter.deferred !== undefined) where.add(filter.deferred ? DEFERRED : `NOT ${DEFERRED}`, today);
    if (filter.blocked !== undefined) where.add(filter.blocked ? BLOCKED : `NOT ${BLOCKED}`);
    if (filter.available !== undefined) {
      const available = `(t.status <> 'done' AND NOT ${DEFERRED} AND NOT ${BLOCKED})`;
      where.add(filter.available ? available : `NOT ${available}`, today);
    }
    if (filter.q !== undefined) {
      const needle = asciiLower(filter.q);
      where.add("(instr(lower(t.title), ?) > 0 OR instr(lower(coalesce(t.notes, '')), ?) > 0)", needle, needle);
    }
    const page = pageOf("t", filter, where);
    const rows = await this.db.all<TaskRow>(`${TASK_SELECT} ${page.sql}`, page.params);
    return paged(rows, filter, toTask);
  }

  async getTask(id: string): Promise<Task | null> {
    const row = await this.db.first<TaskRow>(`${TASK_SELECT} WHERE t.id = ?`, [id]);
    return row && toTask(row);
  }

  /** The statuses of those of `ids` that name tasks (one query, whatever the number of ids). */
  async taskStatuses(ids: readonly string[]): Promise<Map<string, TaskStatus>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.all<{ id: string; status: TaskStatus }>(
      "SELECT id, status FROM tasks WHERE id IN (SELECT value FROM json_each(?))",
      [JSON.stringify(ids)],
    );
    return new Map(rows.map((r) => [r.id, r.status]));
  }

  /** Whether making `id` blocked by `blockers` would close a cycle: `id` is reachable from them. */
  async wouldCycle(id: string, blockers: readonly string[]): Promise<boolean> {
    if (blockers.length === 0) return false;
    const found = await this.db.first(
      `WITH RECURSIVE reach(id) AS (
         SELECT value FROM json_each(?)
         UNION
         SELECT d.blocker_id FROM task_dependencies d JOIN reach r ON d.task_id = r.id
       ) SELECT 1 AS found FROM reach WHERE id = ? LIMIT 1`,
      [JSON.stringify(blockers), id],
    );
    return found !== null;
  }

  /**
   * Inserts a task (and its dependencies). With `idempotency`, the key and the
   * answer (201 and the task as JSON) are stored in the same transaction, so
   * there is never a row without its key or a key without its row; a key
   * stored meanwhile by a concurrent request makes the whole write fail
   * (primary key) and roll back.
   */
  async createTask(fields: TaskFields, idempotency?: IdempotentWrite): Promise<Task> {
    const now = this.now();
    const status = fields.status ?? "inbox";
    const blockedBy = [...(fields.blocked_by ?? [])].sort();
    const statuses = await this.taskStatuses(blockedBy);
    const task: Task = {
      id: this.newId(),
      title: fields.title!,
      notes: fields.notes ?? null,
      status,
      project_id: fields.project_id ?? null,
      context: fields.context ?? null,
      due_date: fields.due_date ?? null,
      defer_until: fields.defer_until ?? null,
      repeat: fields.repeat ?? null,
      blocked_by: blockedBy,
      blocked: status !== "done" && blockedBy.some((id) => statuses.get(id) !== "done"),
      completed_at: status === "done" ? now : null,
      created_at: now,
      updated_at: now,
    };
    const statements = [{ sql: INSERT_TASK, params: taskValues(task) }];
    if (blockedBy.length > 0) statements.push({ sql: INSERT_BLOCKERS, params: [task.id, JSON.stringify(blockedBy)] });
    await this.write(statements, task, idempotency);
    return task;
  }

  /**
   * Applies a PATCH. Moving an open task with a `repeat` to done also inserts
   * its next occurrence, in the same transaction; the insert is guarded by
   * "the task is still open", so two racing completions create one.
   * Returns null when the task does not exist (any more).
   */
  async updateTask(id: string, fields: TaskFields, today?: string): Promise<{ task: Task; nextId: string | null } | null> {
    const before = await this.getTask(id);
    if (!before) return null;
    const after = { ...before, ...fields };
    const now = this.now();
    const statements: SqlStatement[] = [];

    const completing = before.status !== "done" && after.status === "done";
    let nextId: string | null = null;
    if (completing && after.repeat) {
      const next = this.nextOccurrence(before, after, today ?? this.today(), now);
      nextId = next.id;
      statements.push({
        sql: `INSERT INTO tasks (${TASK_COLUMNS.join(", ")}) SELECT ${placeholders(TASK_COLUMNS.length)}
              WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ? AND status <> 'done')`,
        params: [...taskValues(next), id],
      });
    }

    const columns = ["title", "notes", "status", "project_id", "context", "due_date", "defer_until"] as const;
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const column of columns) {
      if (Object.hasOwn(fields, column)) {
        sets.push(`${column} = ?`);
        params.push(fields[column] ?? null);
      }
    }
    if (Object.hasOwn(fields, "repeat")) {
      sets.push("repeat_rule = ?", "repeat_from = ?");
      params.push(fields.repeat?.rule ?? null, fields.repeat?.from ?? null);
    }
    if (Object.hasOwn(fields, "status")) {
      // Set on becoming done, cleared on leaving it, kept otherwise (decided in SQL, against the row as it is).
      sets.push("completed_at = CASE WHEN ? <> 'done' THEN NULL WHEN status = 'done' THEN completed_at ELSE ? END");
      params.push(fields.status!, now);
    }
    sets.push("updated_at = ?");
    params.push(now, id);
    const update = statements.push({ sql: `UPDATE tasks SET ${sets.join(", ")} WHERE id = ?`, params }) - 1;

    if (fields.blocked_by) {
      statements.push({ sql: "DELETE FROM task_dependencies WHERE task_id = ?", params: [id] });
      if (fields.blocked_by.length > 0) {
        statements.push({ sql: INSERT_BLOCKERS, params: [id, JSON.stringify(fields.blocked_by)] });
      }
    }
    const changes = await this.db.batch(statements);
    if (changes[update] === 0) return null;
    if (nextId !== null && changes[0] === 0) nextId = null; // completed by a concurrent request first
    const task = await this.getTask(id);
    return task && { task, nextId };
  }

  /** The next occurrence of a recurring task being completed (contract v2 §5, "Completing"). */
  private nextOccurrence(before: Task, after: Task, today: string, now: string): ExportTask {
    const repeat = after.repeat!;
    const rule = parseRule(repeat.rule)!; // stored rules are canonical, so they parse
    const anchor = repeat.from === "due" ? (after.due_date ?? after.defer_until ?? today) : today;
    const next = nextDate(rule, anchor);
    let dueDate: string | null = null;
    let deferUntil: string | null = next;
    if (after.due_date !== null) {
      dueDate = next;
      // Keep the lead time between "shows up" and "due".
      deferUntil = after.defer_until === null ? null : addDays(next, -daysBetween(after.defer_until, after.due_date));
    }
    return {
      id: this.newId(),
      title: after.title,
      notes: after.notes,
      status: before.status,
      project_id: after.project_id,
      context: after.context,
      due_date: dueDate,
      defer_until: deferUntil,
      repeat,
      blocked_by: [],
      completed_at: null,
      created_at: now,
      updated_at: now,
    };
  }

  /** Deletes a task and every dependency naming it (other tasks' updated_at stays as it is). */
  async deleteTask(id: string): Promise<boolean> {
    const changes = await this.db.batch([
      { sql: "DELETE FROM task_dependencies WHERE task_id = ? OR blocker_id = ?", params: [id, id] },
      { sql: "DELETE FROM tasks WHERE id = ?", params: [id] },
    ]);
    return changes[1] > 0;
  }

  /**
   * The sidebar's numbers: one aggregate query (contract v2 §4), so every
   * number, `contexts` included, comes from the same snapshot. `contexts` is
   * built as a JSON object by SQLite (GROUP BY compares with BINARY
   * collation, so "@home" and "@HOME" stay two keys).
   */
  async counts(today: string = this.today()): Promise<Counts> {
    const row = await this.db.first<Record<string, number> & { contexts: string }>(
      `SELECT
         coalesce(sum(status = 'inbox' AND NOT deferred), 0) AS inbox,
         coalesce(sum(status = 'next' AND NOT deferred), 0) AS next,
         coalesce(sum(status = 'waiting' AND NOT deferred), 0) AS waiting,
         coalesce(sum(status = 'scheduled' AND NOT deferred), 0) AS scheduled,
         coalesce(sum(status = 'someday' AND NOT deferred), 0) AS someday,
         coalesce(sum(status = 'done'), 0) AS done,
         coalesce(sum(deferred), 0) AS deferred,
         coalesce(sum(blocked), 0) AS blocked,
         coalesce(sum(status <> 'done' AND NOT deferred AND NOT blocked), 0) AS available,
         (SELECT count(*) FROM projects WHERE status = 'active') AS p_active,
         (SELECT count(*) FROM projects WHERE status = 'someday') AS p_someday,
         (SELECT count(*) FROM projects WHERE status = 'done') AS p_done,
         (SELECT json_group_object(context, n) FROM (
            SELECT context, count(*) AS n FROM tasks WHERE status <> 'done' AND context IS NOT NULL GROUP BY context
          )) AS contexts
       FROM (SELECT t.status, ${DEFERRED} AS deferred, ${BLOCKED} AS blocked FROM tasks t)`,
      [today],
    );
    const n = row!;
    return {
      tasks: {
        inbox: n.inbox,
        next: n.next,
        waiting: n.waiting,
        scheduled: n.scheduled,
        someday: n.someday,
        done: n.done,
        deferred: n.deferred,
        blocked: n.blocked,
        available: n.available,
      },
      projects: { active: n.p_active, someday: n.p_someday, done: n.p_done },
      contexts: JSON.parse(n.contexts) as Record<string, number>,
    };
  }

  // --- projects ----------------------------------------------------------------

  /** One page of projects, newest first; task_counts computed in the same query. */
  async listProjects(filter: ProjectFilter): Promise<Listed<Project>> {
    const where = new Conditions();
    if (filter.status !== undefined) where.add("p.status = ?", filter.status);
    const page = pageOf("p", filter, where);
    const rows = await this.db.all<ProjectRow>(`${PROJECT_SELECT} ${page.sql}`, page.params);
    return paged(rows, filter, toProject);
  }

  async getProject(id: string): Promise<Project | null> {
    const row = await this.db.first<ProjectRow>(`${PROJECT_SELECT} WHERE p.id = ?`, [id]);
    return row && toProject(row);
  }

  async projectExists(id: string): Promise<boolean> {
    return (await this.db.first("SELECT 1 AS found FROM projects WHERE id = ?", [id])) !== null;
  }

  /** Inserts a project; `idempotency` as for createTask. */
  async createProject(fields: ProjectFields, idempotency?: IdempotentWrite): Promise<Project> {
    const now = this.now();
    const project: Project = {
      id: this.newId(),
      name: fields.name!,
      status: fields.status ?? "active",
      notes: fields.notes ?? null,
      reviewed_on: fields.reviewed_on ?? null,
      task_counts: { open: 0, done: 0, next: 0 },
      created_at: now,
      updated_at: now,
    };
    await this.write([{ sql: INSERT_PROJECT, params: projectValues(project) }], project, idempotency);
    return project;
  }

  async updateProject(id: string, fields: ProjectFields): Promise<Project | null> {
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const column of ["name", "status", "notes", "reviewed_on"] as const) {
      if (Object.hasOwn(fields, column)) {
        sets.push(`${column} = ?`);
        params.push(fields[column] ?? null);
      }
    }
    const changed = await this.db.run(`UPDATE projects SET ${[...sets, "updated_at = ?"].join(", ")} WHERE id = ?`, [
      ...params,
      this.now(),
      id,
    ]);
    return changed === 0 ? null : this.getProject(id);
  }

  /** The schema's ON DELETE SET NULL detaches the project's tasks (foreign keys are on in both backends). */
  async deleteProject(id: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM projects WHERE id = ?", [id])) > 0;
  }

  // --- export and import -------------------------------------------------------

  /** Everything, oldest first (contract v2 §7). */
  async exportAll(): Promise<{ projects: ExportProject[]; tasks: ExportTask[] }> {
    const projects = await this.db.all<ProjectRow>(`${PROJECT_SELECT} ${OLDEST_FIRST("p")}`);
    const tasks = await this.db.all<TaskRow>(`${TASK_SELECT} ${OLDEST_FIRST("t")}`);
    return {
      projects: projects.map((row) => {
        const { task_counts: _, ...project } = toProject(row);
        return project;
      }),
      tasks: tasks.map((row) => {
        const { blocked: _, ...task } = toTask(row);
        return task;
      }),
    };
  }

  /** Of `ids`, those naming projects (and tasks) in the store: what an import may reference. */
  async existingIds(projectIds: string[], taskIds: string[]): Promise<{ projects: Set<string>; tasks: Set<string> }> {
    const ids = async (table: string, list: string[]) =>
      list.length === 0
        ? new Set<string>()
        : new Set(
            (
              await this.db.all<{ id: string }>(
                `SELECT id FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`,
                [JSON.stringify(list)],
              )
            ).map((r) => r.id),
          );
    return { projects: await ids("projects", projectIds), tasks: await ids("tasks", taskIds) };
  }

  /**
   * Merges a validated document by id: new ids are inserted as given, stored
   * ones replaced only by a later `updated_at`. Refuses (422) a merge that
   * would leave a dependency cycle; writes everything in ONE batch otherwise.
   */
  async importDocument(doc: ImportDocument): Promise<{ projects: ImportTally; tasks: ImportTally }> {
    const storedStamps = async (table: string, ids: string[]) =>
      new Map(
        (
          await this.db.all<{ id: string; updated_at: string }>(
            `SELECT id, updated_at FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`,
            [JSON.stringify(ids)],
          )
        ).map((r) => [r.id, r.updated_at]),
      );
    const projectStamps = await storedStamps("projects", doc.projects.map((p) => p.id));
    const taskStamps = await storedStamps("tasks", doc.tasks.map((t) => t.id));

    const tally = <T extends { id: string; updated_at: string }>(stamps: Map<string, string>, items: T[]) => {
      const counts: ImportTally = { created: 0, updated: 0, unchanged: 0 };
      const written = items.filter((item) => {
        const stored = stamps.get(item.id);
        if (stored === undefined) counts.created += 1;
        else if (item.updated_at > stored) counts.updated += 1; // same format everywhere, so text order is time order
        else {
          counts.unchanged += 1;
          return false;
        }
        return true;
      });
      return { counts, written };
    };
    const projects = tally(projectStamps, doc.projects);
    const tasks = tally(taskStamps, doc.tasks);

    const writtenIds = new Set(tasks.written.map((t) => t.id));
    if (writtenIds.size > 0) {
      const field = cycleField(doc.tasks, writtenIds, await this.dependencyGraph());
      if (field !== null) throw invalid(field, `${field} would make a dependency cycle`);
    }

    const statements: SqlStatement[] = [];
    const bulk = (sql: string, rows: unknown[]) => {
      for (const chunk of jsonChunks(rows, this.chunkChars)) statements.push({ sql, params: [chunk] });
    };
    bulk(UPSERT_PROJECTS, projects.written.map(projectValues));
    bulk(UPSERT_TASKS, tasks.written.map(taskValues));
    bulk("DELETE FROM task_dependencies WHERE task_id IN (SELECT value FROM json_each(?))", [...writtenIds]);
    bulk(
      `INSERT INTO task_dependencies (task_id, blocker_id)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)`,
      tasks.written.flatMap((t) => t.blocked_by.map((blocker) => [t.id, blocker])),
    );
    if (statements.length > 0) await this.db.batch(statements);
    return { projects: projects.counts, tasks: tasks.counts };
  }

  /** Every stored dependency, task → its blockers. */
  private async dependencyGraph(): Promise<Graph> {
    const graph = new Map<string, string[]>();
    const rows = await this.db.all<{ task_id: string; blocker_id: string }>(
      "SELECT task_id, blocker_id FROM task_dependencies",
    );
    for (const { task_id, blocker_id } of rows) {
      const list = graph.get(task_id);
      if (list) list.push(blocker_id);
      else graph.set(task_id, [blocker_id]);
    }
    return graph;
  }

  // --- Idempotency-Key -------------------------------------------------------

  /** The answer stored for `key` within the last 24 h, or null (never used, or expired). */
  findIdempotencyKey(key: string): Promise<StoredAnswer | null> {
    return this.db.first<StoredAnswer>(
      "SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ? AND created_at > ?",
      [key, this.keyCutoff()],
    );
  }

  /** created_at at or before this has expired (24 h before now), as an RFC 3339 string. */
  private keyCutoff(): string {
    return new Date(Date.parse(this.now()) - IDEMPOTENCY_TTL_MS).toISOString();
  }

  /** Runs a create's statements, with its Idempotency-Key row when there is one, in one transaction. */
  private async write(rows: SqlStatement[], created: object, idempotency?: IdempotentWrite): Promise<void> {
    const statements = [...rows];
    if (idempotency) {
      statements.unshift(
        // Lazy purge: expired keys go whenever a new one is stored, so the table stays bounded
        // (and an expired copy of this very key no longer blocks it).
        { sql: "DELETE FROM idempotency_keys WHERE created_at <= ?", params: [this.keyCutoff()] },
        {
          sql: "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
          params: [idempotency.key, idempotency.fingerprint, 201, JSON.stringify(created), this.now()],
        },
      );
    }
    if (statements.length === 1) await this.db.run(statements[0].sql, statements[0].params);
    else await this.db.batch(statements);
  }
}
