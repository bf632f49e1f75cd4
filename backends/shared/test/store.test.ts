/**
 * Store ordering with a frozen clock: the one rule the black-box suite cannot
 * force (over HTTP, consecutive creates rarely share a millisecond).
 * Run with: bun test backends/shared
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { bunDriver } from "../../bun-sqlite/src/driver.ts";
import { migrate } from "../../bun-sqlite/src/migrate.ts";
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
  expect((await store.listTasks({})).map((t) => t.id)).toEqual(ids.reverse());
});

test("projects created in the same millisecond list newest first", async () => {
  const store = frozenStore();
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await store.createProject({ name: `p${i}` })).id);
  expect((await store.listProjects({})).map((p) => p.id)).toEqual(ids.reverse());
});

test("a later created_at wins over insertion order", async () => {
  const db = new Database(":memory:");
  migrate(db);
  let clock = "2026-01-02T00:00:00.000Z";
  const store = new Store(bunDriver(db), { now: () => clock });
  const later = await store.createTask({ title: "inserted first, newer" });
  clock = "2026-01-01T00:00:00.000Z";
  const earlier = await store.createTask({ title: "inserted second, older" });
  expect((await store.listTasks({})).map((t) => t.id)).toEqual([later.id, earlier.id]);
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
