/**
 * POST /import's document check (contract v2 §7), kept free of SQL: the
 * handler asks the store which referenced ids it already holds, then
 * `validateDocument` walks the document in order (version, projects, tasks;
 * inside an item, unknown members first, then its members in served order)
 * and throws a 422 naming the first violation, e.g. `tasks[3].status`.
 * Cycles are checked later, on the merged graph (`cycleField`).
 *
 *   const refs = referencedIds(body);                    // ids to look up in the store
 *   const doc = validateDocument(body, { projects, tasks });
 */
import { findCycle } from "./dependencies.ts";
import { invalid } from "./errors.ts";
import type { ExportProject, ExportTask } from "./types.ts";
import {
  blockedBy,
  context,
  date,
  hasDuplicates,
  isPlainObject,
  PROJECT_FIELDS,
  repeat,
  type Rule,
  TASK_FIELDS,
  timestamp,
  uuid,
} from "./validation.ts";

export const EXPORT_VERSION = 2;

export interface ImportDocument {
  projects: ExportProject[];
  tasks: ExportTask[];
}

/** Ids that the document references and the store may hold. */
export interface StoredIds {
  projects: ReadonlySet<string>;
  tasks: ReadonlySet<string>;
}

interface Member {
  rule: Rule;
  /** May be absent; the value then is `absent`. */
  optional?: { absent: unknown };
  nullable?: boolean;
}

const NULL_WHEN_ABSENT = { absent: null };

const PROJECT_MEMBERS: Record<keyof ExportProject, Member> = {
  id: { rule: uuid },
  name: { rule: PROJECT_FIELDS.name.rule },
  status: { rule: PROJECT_FIELDS.status.rule },
  notes: { rule: PROJECT_FIELDS.notes.rule, optional: NULL_WHEN_ABSENT, nullable: true },
  reviewed_on: { rule: date, optional: NULL_WHEN_ABSENT, nullable: true },
  created_at: { rule: timestamp },
  updated_at: { rule: timestamp },
};

const TASK_MEMBERS: Record<keyof ExportTask, Member> = {
  id: { rule: uuid },
  title: { rule: TASK_FIELDS.title.rule },
  notes: { rule: TASK_FIELDS.notes.rule, optional: NULL_WHEN_ABSENT, nullable: true },
  status: { rule: TASK_FIELDS.status.rule },
  project_id: { rule: uuid, optional: NULL_WHEN_ABSENT, nullable: true },
  context: { rule: context, optional: NULL_WHEN_ABSENT, nullable: true },
  due_date: { rule: date, optional: NULL_WHEN_ABSENT, nullable: true },
  defer_until: { rule: date, optional: NULL_WHEN_ABSENT, nullable: true },
  repeat: { rule: repeat, optional: NULL_WHEN_ABSENT, nullable: true },
  blocked_by: { rule: blockedBy, optional: { absent: [] } },
  completed_at: { rule: timestamp, optional: NULL_WHEN_ABSENT, nullable: true },
  created_at: { rule: timestamp },
  updated_at: { rule: timestamp },
};

const TOP_LEVEL = new Set(["version", "exported_at", "projects", "tasks"]);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const items = (doc: unknown, key: "projects" | "tasks"): Record<string, unknown>[] => {
  const list = isPlainObject(doc) ? doc[key] : undefined;
  return Array.isArray(list) ? list.filter(isPlainObject) : [];
};

const lowerUuid = (value: unknown): string | null =>
  typeof value === "string" && UUID_RE.test(value) ? value.toLowerCase() : null;

/** Project and task ids the document refers to without holding them: the store must say which exist. */
export function referencedIds(doc: unknown): { projects: string[]; tasks: string[] } {
  const own = (list: Record<string, unknown>[]) => new Set(list.map((i) => lowerUuid(i.id)));
  const ownProjects = own(items(doc, "projects"));
  const ownTasks = own(items(doc, "tasks"));
  const projects = new Set<string>();
  const tasks = new Set<string>();
  for (const task of items(doc, "tasks")) {
    const project = lowerUuid(task.project_id);
    if (project && !ownProjects.has(project)) projects.add(project);
    for (const blocker of Array.isArray(task.blocked_by) ? task.blocked_by : []) {
      const id = lowerUuid(blocker);
      if (id && !ownTasks.has(id)) tasks.add(id);
    }
  }
  return { projects: [...projects], tasks: [...tasks] };
}

/** The document's items, normalised, or a 422 naming the first violation in document order. */
export function validateDocument(doc: unknown, stored: StoredIds): ImportDocument {
  if (!isPlainObject(doc)) throw invalid(undefined, "request body must be a JSON object");
  if (!Object.hasOwn(doc, "version")) throw invalid("version", "version is required");
  const version = doc.version;
  if (typeof version === "number" && Number.isInteger(version) && version > EXPORT_VERSION) {
    throw invalid("version", `version ${version} comes from a newer version of this app; this one reads version ${EXPORT_VERSION}`);
  }
  if (version !== EXPORT_VERSION) throw invalid("version", `version must be the integer ${EXPORT_VERSION}`);
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.has(key)) throw invalid(key, `unknown member '${key}'`);
  }
  for (const key of ["projects", "tasks"] as const) {
    if (!Array.isArray(doc[key])) throw invalid(key, `${key} must be an array`);
  }
  const rawProjects = doc.projects as unknown[];
  const rawTasks = doc.tasks as unknown[];

  // "In the document" means anywhere in its arrays, before or after the referring item.
  const docProjects = new Set(rawProjects.map((p) => (isPlainObject(p) ? lowerUuid(p.id) : null)));
  const docTasks = new Set(rawTasks.map((t) => (isPlainObject(t) ? lowerUuid(t.id) : null)));

  const seenProjects = new Set<string>();
  const projects = rawProjects.map((raw, i) => {
    const project = checkItem(raw, `projects[${i}]`, PROJECT_MEMBERS) as unknown as ExportProject;
    if (seenProjects.has(project.id)) throw invalid(`projects[${i}].id`, `projects[${i}].id appears twice`);
    seenProjects.add(project.id);
    return project;
  });

  const seenTasks = new Set<string>();
  const tasks = rawTasks.map((raw, i) => {
    const at = `tasks[${i}]`;
    const task = checkItem(raw, at, TASK_MEMBERS, (member, value, item) => {
      if (member === "id") {
        if (seenTasks.has(value as string)) throw invalid(`${at}.id`, `${at}.id appears twice`);
        seenTasks.add(value as string);
      } else if (member === "project_id" && value !== null) {
        if (!docProjects.has(value as string) && !stored.projects.has(value as string)) {
          throw invalid(`${at}.project_id`, `${at}.project_id names no project in the document or the store`);
        }
      } else if (member === "blocked_by") {
        if (hasDuplicates(value as string[])) throw invalid(`${at}.blocked_by`, `${at}.blocked_by names a task twice`);
        for (const blocker of value as string[]) {
          if (blocker === item.id) throw invalid(`${at}.blocked_by`, `${at}.blocked_by names the task itself`);
          if (!docTasks.has(blocker) && !stored.tasks.has(blocker)) {
            throw invalid(`${at}.blocked_by`, `${at}.blocked_by names no task in the document or the store`);
          }
        }
      }
    }) as unknown as ExportTask;
    return task;
  });
  return { projects, tasks };
}

type After = (member: string, value: unknown, item: Record<string, unknown>) => void;

/** One item: unknown members first, then each member in served order (rule, then `after`). */
function checkItem(raw: unknown, at: string, members: Record<string, Member>, after?: After) {
  if (!isPlainObject(raw)) throw invalid(at, `${at} must be an object`);
  for (const key of Object.keys(raw)) {
    if (!Object.hasOwn(members, key)) throw invalid(`${at}.${key}`, `unknown member '${key}' in ${at}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(members)) {
    const field = `${at}.${key}`;
    let value: unknown;
    if (!Object.hasOwn(raw, key)) {
      if (!member.optional) throw invalid(field, `${field} is required`);
      value = member.optional.absent;
    } else if (raw[key] === null) {
      if (!member.nullable) throw invalid(field, `${field} must not be null`);
      value = null;
    } else {
      value = member.rule(raw[key], field);
    }
    out[key] = value;
    after?.(key, value, out);
  }
  return out;
}

/**
 * The field naming a dependency cycle in the merged graph, or null: the
 * stored edges of every task the import leaves alone, the document's edges
 * for every task it writes. A cycle is named at its task that comes first in
 * the document among those the import writes (a cycle always passes through
 * one: the store alone is acyclic).
 */
export function cycleField(
  tasks: readonly ExportTask[],
  written: ReadonlySet<string>,
  storedEdges: ReadonlyMap<string, readonly string[]>,
): string | null {
  const graph = new Map<string, readonly string[]>();
  for (const [task, blockers] of storedEdges) if (!written.has(task)) graph.set(task, blockers);
  for (const task of tasks) if (written.has(task.id)) graph.set(task.id, task.blocked_by);
  const onCycle = new Set(findCycle(graph));
  if (onCycle.size === 0) return null;
  const index = tasks.findIndex((task) => written.has(task.id) && onCycle.has(task.id));
  return `tasks[${index}].blocked_by`;
}
