-- GTD contract v2 (backends/contract/openapi.yaml, 2.0.0): tickler, recurring
-- tasks, dependencies, reviewed projects. Every column is nullable or has a
-- default, so v1 rows stay valid as they are; done tasks get `completed_at`
-- from their last change, the best record v1 kept of when they were finished.
--
-- repeat_rule/repeat_from are both NULL (no repeat) or both set.
-- task_dependencies rows are removed by the backends when either task is
-- deleted (they do not rely on foreign-key cascades being enabled).

ALTER TABLE tasks ADD COLUMN defer_until TEXT;
ALTER TABLE tasks ADD COLUMN repeat_rule TEXT;
ALTER TABLE tasks ADD COLUMN repeat_from TEXT CHECK (repeat_from IN ('due', 'completion'));
ALTER TABLE tasks ADD COLUMN completed_at TEXT;
ALTER TABLE projects ADD COLUMN reviewed_on TEXT;

UPDATE tasks SET completed_at = updated_at WHERE status = 'done';

CREATE TABLE task_dependencies (
  task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  blocker_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, blocker_id)
);

CREATE INDEX task_dependencies_by_blocker ON task_dependencies (blocker_id);
CREATE INDEX tasks_by_defer ON tasks (defer_until);
