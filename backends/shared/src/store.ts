/**
 * All SQL lives here, written once for SQLite and shared by both backends.
 * A backend only supplies a SqlDriver: four async methods over its native
 * database (bun:sqlite is synchronous and is simply wrapped; D1 is async).
 */
import { IDEMPOTENCY_TTL_MS, type IdempotentWrite, type StoredAnswer } from "./idempotency.ts";
import type {
  Project,
  ProjectFields,
  ProjectFilter,
  Task,
  TaskFields,
  TaskFilter,
} from "./types.ts";

export type SqlValue = string | number | null;

export interface SqlDriver {
  /** All rows of a query. */
  all<T>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** First row of a query, or null. */
  first<T>(sql: string, params?: SqlValue[]): Promise<T | null>;
  /** A statement without rows; returns the number of rows changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
  /** Statements without rows, in order, in ONE write transaction: all of them commit or none. */
  batch(statements: SqlStatement[]): Promise<void>;
}

export interface SqlStatement {
  sql: string;
  params: SqlValue[];
}

const TASK_COLUMNS = "id, title, notes, status, project_id, context, due_date, created_at, updated_at";
const PROJECT_COLUMNS = "id, name, status, notes, created_at, updated_at";

// Newest first; `seq` (insertion order) breaks ties within one millisecond.
const NEWEST_FIRST = "ORDER BY created_at DESC, seq DESC";

export interface StoreOptions {
  /** Current time as an RFC 3339 UTC string; injectable for tests. */
  now?: () => string;
  /** New resource id; injectable for tests. */
  newId?: () => string;
}

/** Builds `WHERE a = ? AND b = ?` from the keys that are set, in a fixed order. */
function where(filter: Record<string, unknown>, columns: readonly string[]) {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  for (const column of columns) {
    const value = filter[column];
    if (value !== undefined) {
      clauses.push(`${column} = ?`);
      params.push(value as SqlValue);
    }
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** Builds the SET list of an UPDATE from validated fields, in a fixed column order. */
function assignments(fields: Record<string, unknown>, columns: readonly string[]) {
  const sets: string[] = [];
  const params: SqlValue[] = [];
  for (const column of columns) {
    if (Object.hasOwn(fields, column)) {
      sets.push(`${column} = ?`);
      params.push(fields[column] as SqlValue);
    }
  }
  return { sets, params };
}

const INSERT_TASK = `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const INSERT_PROJECT = `INSERT INTO projects (${PROJECT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`;

const TASK_WRITABLE = ["title", "notes", "status", "project_id", "context", "due_date"] as const;
const TASK_FILTERABLE = ["status", "project_id", "context"] as const;
const PROJECT_WRITABLE = ["name", "status", "notes"] as const;
const PROJECT_FILTERABLE = ["status"] as const;

export class Store {
  private readonly now: () => string;
  private readonly newId: () => string;

  constructor(
    private readonly db: SqlDriver,
    options: StoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date().toISOString());
    this.newId = options.newId ?? (() => crypto.randomUUID());
  }

  /** Throws if the schema cannot be queried; /health turns that into a 503. */
  async ping(): Promise<void> {
    await this.db.first("SELECT (SELECT 1 FROM tasks LIMIT 1) AS t, (SELECT 1 FROM projects LIMIT 1) AS p");
  }

  listTasks(filter: TaskFilter): Promise<Task[]> {
    const w = where(filter as Record<string, unknown>, TASK_FILTERABLE);
    return this.db.all<Task>(`SELECT ${TASK_COLUMNS} FROM tasks ${w.sql} ${NEWEST_FIRST}`, w.params);
  }

  getTask(id: string): Promise<Task | null> {
    return this.db.first<Task>(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`, [id]);
  }

  /**
   * Inserts a task. With `idempotency`, the key and the answer (201 and the
   * task as JSON) are stored in the same transaction, so there is never a row
   * without its key or a key without its row; a key stored meanwhile by a
   * concurrent request makes the whole write fail (primary key) and roll back.
   */
  async createTask(fields: TaskFields, idempotency?: IdempotentWrite): Promise<Task> {
    const now = this.now();
    // Column for column as the INSERT (and SELECT) order, so JSON.stringify matches a GET.
    const task: Task = {
      id: this.newId(),
      title: fields.title!,
      notes: fields.notes ?? null,
      status: fields.status ?? "inbox",
      project_id: fields.project_id ?? null,
      context: fields.context ?? null,
      due_date: fields.due_date ?? null,
      created_at: now,
      updated_at: now,
    };
    await this.insert({ sql: INSERT_TASK, params: Object.values(task) }, task, idempotency);
    return task;
  }

  async updateTask(id: string, fields: TaskFields): Promise<Task | null> {
    const { sets, params } = assignments(fields as Record<string, unknown>, TASK_WRITABLE);
    return this.db.first<Task>(
      `UPDATE tasks SET ${[...sets, "updated_at = ?"].join(", ")} WHERE id = ? RETURNING ${TASK_COLUMNS}`,
      [...params, this.now(), id],
    );
  }

  async deleteTask(id: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM tasks WHERE id = ?", [id])) > 0;
  }

  listProjects(filter: ProjectFilter): Promise<Project[]> {
    const w = where(filter as Record<string, unknown>, PROJECT_FILTERABLE);
    return this.db.all<Project>(`SELECT ${PROJECT_COLUMNS} FROM projects ${w.sql} ${NEWEST_FIRST}`, w.params);
  }

  getProject(id: string): Promise<Project | null> {
    return this.db.first<Project>(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = ?`, [id]);
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
      created_at: now,
      updated_at: now,
    };
    await this.insert({ sql: INSERT_PROJECT, params: Object.values(project) }, project, idempotency);
    return project;
  }

  async updateProject(id: string, fields: ProjectFields): Promise<Project | null> {
    const { sets, params } = assignments(fields as Record<string, unknown>, PROJECT_WRITABLE);
    return this.db.first<Project>(
      `UPDATE projects SET ${[...sets, "updated_at = ?"].join(", ")} WHERE id = ? RETURNING ${PROJECT_COLUMNS}`,
      [...params, this.now(), id],
    );
  }

  /** The schema's ON DELETE SET NULL detaches the project's tasks (foreign keys are on in both backends). */
  async deleteProject(id: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM projects WHERE id = ?", [id])) > 0;
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

  private async insert(row: SqlStatement, created: object, idempotency?: IdempotentWrite): Promise<void> {
    if (!idempotency) {
      await this.db.run(row.sql, row.params);
      return;
    }
    await this.db.batch([
      // Lazy purge: expired keys go whenever a new one is stored, so the table stays bounded
      // (and an expired copy of this very key no longer blocks it).
      { sql: "DELETE FROM idempotency_keys WHERE created_at <= ?", params: [this.keyCutoff()] },
      {
        sql: "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
        params: [idempotency.key, idempotency.fingerprint, 201, JSON.stringify(created), this.now()],
      },
      row,
    ]);
  }
}
