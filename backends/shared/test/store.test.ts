/**
 * Store ordering with a frozen clock: the one rule the black-box suite cannot
 * force (over HTTP, consecutive creates rarely share a millisecond).
 * Run with: bun test backends/shared
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { bunDriver } from "../../bun-sqlite/src/driver.ts";
import { migrate } from "../../bun-sqlite/src/migrate.ts";
import { decodeCursor } from "../src/paging.ts";
import { Store } from "../src/store.ts";

function frozenStore(): Store {
  const db = new Database(":memory:");
  db.run("PRAGMA foreign_keys = ON");
  migrate(db);
  return new Store(bunDriver(db), { now: () => "2026-01-01T00:00:00.000Z" });
}

test("tasks created in the same millisecond list newest first", async () => {
  const store = frozenStore();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await store.createTask({ title: `t${i}` })).id);
  expect((await store.listTasks({})).items.map((t) => t.id)).toEqual(ids.reverse());
});

test("projects created in the same millisecond list newest first", async () => {
  const store = frozenStore();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await store.createProject({ name: `p${i}` })).id);
  expect((await store.listProjects({})).items.map((p) => p.id)).toEqual(ids.reverse());
});

test("a later created_at wins over insertion order", async () => {
  const db = new Database(":memory:");
  migrate(db);
  let clock = "2026-01-02T00:00:00.000Z";
  const store = new Store(bunDriver(db), { now: () => clock });
  const later = await store.createTask({ title: "inserted first, newer" });
  clock = "2026-01-01T00:00:00.000Z";
  const earlier = await store.createTask({ title: "inserted second, older" });
  expect((await store.listTasks({})).items.map((t) => t.id)).toEqual([later.id, earlier.id]);
});

test("deleting a project detaches its tasks", async () => {
  const db = new Database(":memory:");
  db.run("PRAGMA foreign_keys = ON");
  migrate(db);
  const store = new Store(bunDriver(db));
  const project = await store.createProject({ name: "p" });
  const task = await store.createTask({ title: "t", project_id: project.id });
  expect(await store.deleteProject(project.id)).toBe(true);
  expect((await store.getTask(task.id))?.project_id).toBeNull();
});

// --- v2: keyset paging, recurring completion, dependencies, import -------------

test("a cursor page stays stable when a task is created and one deleted meanwhile", async () => {
  const store = frozenStore();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await store.createTask({ title: `t${i}` })).id);
  const first = await store.listTasks({ limit: 2 });
  await store.createTask({ title: "newer" });
  await store.deleteTask(ids[2]);
  const second = await store.listTasks({ limit: 2, cursor: decodeCursor(first.next_cursor!)! });
  expect(first.items.map((t) => t.id)).toEqual([ids[4], ids[3]]);
  expect(second.items.map((t) => t.id)).toEqual([ids[1], ids[0]]);
});

test("the last page has no next cursor", async () => {
  const store = frozenStore();
  for (let i = 0; i < 2; i++) await store.createTask({ title: `t${i}` });
  expect((await store.listTasks({ limit: 2 })).next_cursor).toBeNull();
});

test("completing a recurring task inserts its next occurrence in the same write", async () => {
  const store = frozenStore();
  const repeat = { rule: "FREQ=WEEKLY;BYDAY=MO,FR", from: "due" as const };
  const task = await store.createTask({ title: "bins", status: "next", due_date: "2026-12-02", defer_until: "2026-12-01", repeat });
  const done = await store.updateTask(task.id, { status: "done" }, "2026-12-02");
  const next = await store.getTask(done!.nextId!);
  expect(next).toMatchObject({ title: "bins", status: "next", due_date: "2026-12-04", defer_until: "2026-12-03", repeat });
});

test("completing a recurring task twice creates one occurrence", async () => {
  const store = frozenStore();
  const task = await store.createTask({ title: "t", repeat: { rule: "FREQ=DAILY", from: "completion" } });
  await store.updateTask(task.id, { status: "done" }, "2026-12-02");
  const again = await store.updateTask(task.id, { status: "done" }, "2026-12-02");
  expect(again!.nextId).toBeNull();
  expect((await store.listTasks({})).items.length).toBe(2);
});

test("an occurrence without a due date is deferred to next(today) when repeating from completion", async () => {
  const store = frozenStore();
  const task = await store.createTask({ title: "t", repeat: { rule: "FREQ=MONTHLY", from: "completion" } });
  const done = await store.updateTask(task.id, { status: "done" }, "2026-01-31");
  expect(await store.getTask(done!.nextId!)).toMatchObject({ due_date: null, defer_until: "2026-02-28" });
});

test("a dependency closing a loop through another task is a cycle", async () => {
  const store = frozenStore();
  const a = await store.createTask({ title: "a" });
  const b = await store.createTask({ title: "b", blocked_by: [a.id] });
  const c = await store.createTask({ title: "c", blocked_by: [b.id] });
  expect(await store.wouldCycle(a.id, [c.id])).toBe(true);
});

test("two racing completions of a recurring task create one occurrence", async () => {
  const store = frozenStore();
  const task = await store.createTask({ title: "t", repeat: { rule: "FREQ=DAILY", from: "completion" } });
  // Both read the task while it is still open; only the first write may add an occurrence.
  const results = await Promise.all([
    store.updateTask(task.id, { status: "done" }, "2026-12-02"),
    store.updateTask(task.id, { status: "done" }, "2026-12-02"),
  ]);
  expect(results.filter((r) => r!.nextId !== null).length).toBe(1);
  expect((await store.listTasks({})).items.length).toBe(2);
});

test("a blocker done leaves its dependant unblocked without touching it", async () => {
  const db = new Database(":memory:");
  migrate(db);
  let clock = "2026-01-01T00:00:00.000Z";
  const store = new Store(bunDriver(db), { now: () => clock });
  const a = await store.createTask({ title: "a" });
  const b = await store.createTask({ title: "b", blocked_by: [a.id] });
  clock = "2026-01-02T00:00:00.000Z";
  await store.updateTask(a.id, { status: "done" });
  expect(await store.getTask(b.id)).toMatchObject({ blocked: false, blocked_by: [a.id], updated_at: b.updated_at });
});

test("an import larger than one JSON chunk writes every row", async () => {
  const db = new Database(":memory:");
  db.run("PRAGMA foreign_keys = ON");
  migrate(db);
  const store = new Store(bunDriver(db), { chunkChars: 1000 });
  const stamp = "2026-01-01T00:00:00.000Z";
  const tasks = Array.from({ length: 30 }, (_, i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    title: `t${i}`,
    notes: null,
    status: "inbox" as const,
    project_id: null,
    context: null,
    due_date: null,
    defer_until: null,
    repeat: null,
    blocked_by: i > 0 ? [`00000000-0000-4000-8000-${String(i - 1).padStart(12, "0")}`] : [],
    completed_at: null,
    created_at: stamp,
    updated_at: stamp,
  }));
  await store.importDocument({ projects: [], tasks });
  expect((await store.exportAll()).tasks).toEqual(tasks);
});

// --- GET /counts: what the shared black-box store cannot show ------------------

test("an empty store counts no contexts", async () => {
  expect((await frozenStore().counts("2026-01-01")).contexts).toEqual({});
});

test("contexts count open tasks per exact spelling and leave out done ones", async () => {
  const store = frozenStore();
  await store.createTask({ title: "a", context: "@home", defer_until: "2999-01-01" });
  await store.createTask({ title: "b", context: "@home", status: "waiting" });
  await store.createTask({ title: "c", context: "@HOME" });
  await store.createTask({ title: "d", context: "@office", status: "done" });
  await store.createTask({ title: "e" });
  expect((await store.counts("2026-01-01")).contexts).toEqual({ "@home": 2, "@HOME": 1 });
});
