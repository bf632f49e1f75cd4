/**
 * All SQL lives here, written once for SQLite and shared by both backends.
 * A backend only supplies a SqlDriver: four async methods over its native
 * database (bun:sqlite is synchronous and is simply wrapped; D1 is async).
 */
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

  async createTask(fields: TaskFields): Promise<Task> {
    const now = this.now();
    const task = await this.db.first<Task>(
      `INSERT INTO tasks (id, title, notes, status, project_id, context, due_date, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${TASK_COLUMNS}`,
      [
        this.newId(),
        fields.title!,
        fields.notes ?? null,
        fields.status ?? "inbox",
        fields.project_id ?? null,
        fields.context ?? null,
        fields.due_date ?? null,
        now,
        now,
      ],
    );
    return task!;
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

  async createProject(fields: ProjectFields): Promise<Project> {
    const now = this.now();
    const project = await this.db.first<Project>(
      `INSERT INTO projects (id, name, status, notes, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING ${PROJECT_COLUMNS}`,
      [this.newId(), fields.name!, fields.status ?? "active", fields.notes ?? null, now, now],
    );
    return project!;
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
}
