/**
 * POST /import's document check (contract v2 §7): which violation is named
 * first, and the cycle check on the merged graph. Pure: no store involved.
 * Run with: bun test backends/shared
 */
import { expect, test } from "bun:test";
import { ApiError } from "../src/errors.ts";
import { cycleField, referencedIds, validateDocument } from "../src/import.ts";
import type { ExportTask } from "../src/types.ts";

const STAMP = "2026-01-01T00:00:00.000Z";
const P1 = "00000000-0000-4000-8000-000000000001";
const T1 = "00000000-0000-4000-8000-0000000000a1";
const T2 = "00000000-0000-4000-8000-0000000000a2";
const T3 = "00000000-0000-4000-8000-0000000000a3";
const STORED_TASK = "00000000-0000-4000-8000-0000000000f1";
const NOTHING = { projects: new Set<string>(), tasks: new Set<string>() };

const project = (extra: Record<string, unknown> = {}) => ({
  id: P1,
  name: "p",
  status: "active",
  created_at: STAMP,
  updated_at: STAMP,
  ...extra,
});
const task = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  title: "t",
  status: "inbox",
  created_at: STAMP,
  updated_at: STAMP,
  ...extra,
});
const doc = (extra: Record<string, unknown> = {}) => ({ version: 2, projects: [], tasks: [], ...extra });

/** The `field` of the 422 that validateDocument throws. */
function refusedField(body: unknown, stored = NOTHING): string | undefined {
  try {
    validateDocument(body, stored);
  } catch (err) {
    if (err instanceof ApiError && err.status === 422) return err.field;
    throw err;
  }
  throw new Error("expected the document to be refused");
}

test("a valid document comes back with absent members filled in", () => {
  const result = validateDocument(doc({ tasks: [task(T1)] }), NOTHING);
  expect(result.tasks[0]).toEqual({
    id: T1,
    title: "t",
    notes: null,
    status: "inbox",
    project_id: null,
    context: null,
    due_date: null,
    defer_until: null,
    repeat: null,
    blocked_by: [],
    completed_at: null,
    created_at: STAMP,
    updated_at: STAMP,
  });
});

test("ids are normalised to lowercase", () => {
  expect(validateDocument(doc({ projects: [project({ id: P1.toUpperCase() })] }), NOTHING).projects[0].id).toBe(P1);
});

test("repeat rules are stored in canonical form", () => {
  const result = validateDocument(doc({ tasks: [task(T1, { repeat: { rule: "BYDAY=WE,MO;FREQ=WEEKLY", from: "due" } })] }), NOTHING);
  expect(result.tasks[0].repeat).toEqual({ rule: "FREQ=WEEKLY;BYDAY=MO,WE", from: "due" });
});

test("version is checked before the arrays", () => {
  expect(refusedField({ version: 1, projects: "no", tasks: [] })).toBe("version");
});

test("a version from the future is named as version", () => {
  expect(refusedField(doc({ version: 3 }))).toBe("version");
});

test("a version given as a string is refused", () => {
  expect(refusedField(doc({ version: "2" }))).toBe("version");
});

test("an unknown top-level member is named", () => {
  expect(refusedField(doc({ extra: true }))).toBe("extra");
});

test("exported_at is accepted and ignored", () => {
  expect(validateDocument(doc({ exported_at: 12 }), NOTHING)).toEqual({ projects: [], tasks: [] });
});

test("a missing tasks array is named as tasks", () => {
  expect(refusedField({ version: 2, projects: [] })).toBe("tasks");
});

test("a project's violation comes before any task's", () => {
  expect(refusedField(doc({ projects: [project({ name: "" })], tasks: [task(T1, { status: "bad" })] }))).toBe(
    "projects[0].name",
  );
});

test("the first task in document order is named", () => {
  expect(refusedField(doc({ tasks: [task(T1), task(T2, { status: "bad" }), task(T3, { title: "" })] }))).toBe(
    "tasks[1].status",
  );
});

test("an unknown member of an item comes before its other violations", () => {
  expect(refusedField(doc({ tasks: [task(T1, { status: "bad", blocked: false })] }))).toBe("tasks[0].blocked");
});

test("a missing required member is named", () => {
  const { created_at: _, ...withoutCreated } = task(T1);
  expect(refusedField(doc({ tasks: [withoutCreated] }))).toBe("tasks[0].created_at");
});

test("a timestamp without milliseconds is refused", () => {
  expect(refusedField(doc({ tasks: [task(T1, { updated_at: "2026-01-01T00:00:00Z" })] }))).toBe("tasks[0].updated_at");
});

test("a timestamp on a day that does not exist is refused", () => {
  expect(refusedField(doc({ tasks: [task(T1, { created_at: "2026-02-30T00:00:00.000Z" })] }))).toBe(
    "tasks[0].created_at",
  );
});

test("an id twice in the tasks array is named at its second use", () => {
  expect(refusedField(doc({ tasks: [task(T1), task(T1)] }))).toBe("tasks[1].id");
});

test("a project_id naming a project later in the document is accepted", () => {
  expect(() => validateDocument(doc({ projects: [project()], tasks: [task(T1, { project_id: P1 })] }), NOTHING)).not.toThrow();
});

test("a project_id naming a project only in the store is accepted", () => {
  const stored = { projects: new Set([P1]), tasks: new Set<string>() };
  expect(() => validateDocument(doc({ tasks: [task(T1, { project_id: P1 })] }), stored)).not.toThrow();
});

test("a project_id naming no project is refused", () => {
  expect(refusedField(doc({ tasks: [task(T1, { project_id: P1 })] }))).toBe("tasks[0].project_id");
});

test("an earlier task's unknown blocker is named before a later task's bad status", () => {
  expect(refusedField(doc({ tasks: [task(T1, { blocked_by: [T3] }), task(T2, { status: "bad" })] }))).toBe(
    "tasks[0].blocked_by",
  );
});

test("a blocker only in the store is accepted", () => {
  const stored = { projects: new Set<string>(), tasks: new Set([STORED_TASK]) };
  expect(() => validateDocument(doc({ tasks: [task(T1, { blocked_by: [STORED_TASK] })] }), stored)).not.toThrow();
});

test("a task blocked by itself is refused", () => {
  expect(refusedField(doc({ tasks: [task(T1, { blocked_by: [T1] })] }))).toBe("tasks[0].blocked_by");
});

test("a blocker named twice is refused", () => {
  expect(refusedField(doc({ tasks: [task(T1, { blocked_by: [T2, T2.toUpperCase()] }), task(T2)] }))).toBe(
    "tasks[0].blocked_by",
  );
});

test("referencedIds lists only references the document does not hold", () => {
  const body = doc({
    projects: [project()],
    tasks: [task(T1, { project_id: P1, blocked_by: [T2, STORED_TASK.toUpperCase()] }), task(T2)],
  });
  expect(referencedIds(body)).toEqual({ projects: [], tasks: [STORED_TASK] });
});

// --- cycles on the merged graph ----------------------------------------------------

const exportTask = (id: string, blockedBy: string[]): ExportTask =>
  validateDocument(doc({ tasks: [task(id, { blocked_by: blockedBy })] }), {
    projects: new Set(),
    tasks: new Set(blockedBy),
  }).tasks[0];

test("a cycle inside the document is named at its first task", () => {
  const tasks = [exportTask(T1, []), exportTask(T2, [T3]), exportTask(T3, [T2])];
  expect(cycleField(tasks, new Set([T1, T2, T3]), new Map())).toBe("tasks[1].blocked_by");
});

test("a cycle through a stored dependency is found", () => {
  const tasks = [exportTask(T1, [STORED_TASK])];
  expect(cycleField(tasks, new Set([T1]), new Map([[STORED_TASK, [T1]]]))).toBe("tasks[0].blocked_by");
});

test("a task the import leaves unchanged keeps its stored dependencies", () => {
  // T2's document edge would close a cycle, but T2 is not written: its stored (empty) edges count.
  const tasks = [exportTask(T1, [T2]), exportTask(T2, [T1])];
  expect(cycleField(tasks, new Set([T1]), new Map())).toBeNull();
});

test("an acyclic merge is accepted", () => {
  const tasks = [exportTask(T1, [T2]), exportTask(T2, [])];
  expect(cycleField(tasks, new Set([T1, T2]), new Map([[STORED_TASK, [T1]]]))).toBeNull();
});
