-- GTD schema, version 1. Applied by `wrangler d1 migrations apply` (cf-d1) and
-- by backends/bun-sqlite/src/migrate.ts (bun-sqlite): one file, two runners.
-- `seq` is a monotonic insertion counter: it breaks created_at ties so that
-- "newest first" is deterministic for rows created within the same millisecond.

CREATE TABLE projects (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  name       TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'someday', 'done')),
  notes      TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE tasks (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  id         TEXT NOT NULL UNIQUE,
  title      TEXT NOT NULL,
  notes      TEXT,
  status     TEXT NOT NULL DEFAULT 'inbox'
             CHECK (status IN ('inbox', 'next', 'waiting', 'scheduled', 'someday', 'done')),
  project_id TEXT REFERENCES projects (id) ON DELETE SET NULL,
  context    TEXT,
  due_date   TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE INDEX tasks_by_created   ON tasks (created_at, seq);
CREATE INDEX tasks_by_status    ON tasks (status, created_at, seq);
CREATE INDEX tasks_by_project   ON tasks (project_id, created_at, seq);
CREATE INDEX tasks_by_context   ON tasks (context, created_at, seq);
CREATE INDEX projects_by_created ON projects (created_at, seq);
