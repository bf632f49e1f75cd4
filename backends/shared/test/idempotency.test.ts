/**
 * Idempotency-Key and /health through createApp over a real (in-memory) SQLite
 * with an injected clock: the rules the black-box suite cannot reach over HTTP
 * (24 h expiry, the lazy purge, atomicity of row and key, a schema gone).
 * Run with: bun test backends/shared
 */
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { bunDriver } from "../../bun-sqlite/src/driver.ts";
import { migrate } from "../../bun-sqlite/src/migrate.ts";
import { createApp, Store } from "../src/app.ts";
import { fingerprint, parseIdempotencyKey } from "../src/idempotency.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const HOUR = 60 * 60 * 1000;

function setup(newId?: () => string) {
  const db = new Database(":memory:");
  db.run("PRAGMA foreign_keys = ON");
  migrate(db);
  const clock = { ms: T0 };
  const store = new Store(bunDriver(db), { now: () => new Date(clock.ms).toISOString(), newId });
  const app = createApp({ store, backendId: "test", log: () => {} });
  const post = (path: string, body: unknown, key?: string) =>
    app(
      new Request(`http://backend${path}`, {
        method: "POST",
        headers: key === undefined ? {} : { "idempotency-key": key },
        body: JSON.stringify(body),
      }),
    );
  const count = (table: string) => (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { db, app, clock, post, count };
}

test("a replay within 24 hours answers the first response without creating", async () => {
  const { clock, post, count } = setup();
  const first = await post("/tasks", { title: "once" }, "k1");
  clock.ms = T0 + 24 * HOUR - 1;
  const again = await post("/tasks", { title: "once" }, "k1");
  expect(again.status).toBe(201);
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  expect(await again.text()).toBe(await first.text());
  expect(count("tasks")).toBe(1);
});

test("a key 24 hours old has expired and creates again", async () => {
  const { clock, post, count } = setup();
  const first = (await (await post("/tasks", { title: "twice" }, "k1")).json()) as { id: string };
  clock.ms = T0 + 24 * HOUR;
  const again = await post("/tasks", { title: "twice" }, "k1");
  expect(again.status).toBe(201);
  expect(again.headers.get("idempotent-replayed")).toBeNull();
  expect(((await again.json()) as { id: string }).id).not.toBe(first.id);
  expect(count("tasks")).toBe(2);
});

test("a replay does not extend the key's lifetime", async () => {
  const { clock, post, count } = setup();
  await post("/projects", { name: "p" }, "k1");
  clock.ms = T0 + 23 * HOUR;
  await post("/projects", { name: "p" }, "k1");
  clock.ms = T0 + 24 * HOUR;
  expect((await post("/projects", { name: "p" }, "k1")).headers.get("idempotent-replayed")).toBeNull();
  expect(count("projects")).toBe(2);
});

test("storing a new key purges the expired ones", async () => {
  const { db, clock, post } = setup();
  await post("/tasks", { title: "a" }, "old-1");
  await post("/tasks", { title: "b" }, "old-2");
  clock.ms = T0 + 25 * HOUR;
  await post("/tasks", { title: "c" }, "new");
  const keys = db.query("SELECT key FROM idempotency_keys").all() as { key: string }[];
  expect(keys.map((k) => k.key)).toEqual(["new"]);
});

test("a create that fails stores no key", async () => {
  // The second create reuses the first id, so its INSERT breaks the UNIQUE constraint.
  const { post, count } = setup(() => "3f1e1c2a-7b6d-4c1e-9a0b-1234567890ab");
  expect((await post("/tasks", { title: "first" })).status).toBe(201);
  expect((await post("/tasks", { title: "second" }, "k1")).status).toBe(500);
  expect(count("idempotency_keys")).toBe(0);
  expect(count("tasks")).toBe(1);
});

test("a key stored by a concurrent request makes the create roll back and replay", async () => {
  const { db, count } = setup();
  // What a request that lost the race sees: its lookup found nothing, then the winner's key landed.
  const body = JSON.stringify({ title: "raced" });
  const print = await fingerprint("POST", "/tasks", new TextEncoder().encode(body));
  const winner = '{"id":"3f1e1c2a-7b6d-4c1e-9a0b-1234567890ab"}';
  const store = new Store(bunDriver(db));
  const find = store.findIdempotencyKey.bind(store);
  let lookups = 0;
  store.findIdempotencyKey = async (key) => {
    if (lookups++ === 0) {
      db.query("INSERT INTO idempotency_keys VALUES (?, ?, 201, ?, ?)").run(key, print, winner, new Date().toISOString());
      return null;
    }
    return find(key);
  };
  const app = createApp({ store, backendId: "test", log: () => {} });
  const response = await app(
    new Request("http://backend/tasks", { method: "POST", headers: { "idempotency-key": "k1" }, body }),
  );
  expect(response.status).toBe(201);
  expect(response.headers.get("idempotent-replayed")).toBe("true");
  expect(await response.text()).toBe(winner);
  expect(count("tasks")).toBe(0);
});

test("parseIdempotencyKey reads the sf-string form as the bare key", () => {
  expect(parseIdempotencyKey(new Headers({ "idempotency-key": '"abc"' }))).toBe("abc");
});

test("parseIdempotencyKey refuses an empty quoted key", () => {
  expect(() => parseIdempotencyKey(new Headers({ "idempotency-key": '""' }))).toThrow();
});

test("the fingerprint is the SHA-256 of the method, the path and the body", async () => {
  // Computed independently: printf 'POST /tasks\n{}' | sha256sum
  const expected = "dde3feeeadc32527d89144284cc04b879156ff13bde2ab107ebaee2e7f28b88e";
  expect(await fingerprint("POST", "/tasks", new TextEncoder().encode("{}"))).toBe(expected);
});

test("health is 503 when the schema is gone", async () => {
  const { db, app } = setup();
  db.run("DROP TABLE tasks");
  const response = await app(new Request("http://backend/health"));
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ status: "error", backend: "test", db: "error" });
});

test("health is 503 when the database is closed", async () => {
  const { db, app } = setup();
  db.close();
  expect((await app(new Request("http://backend/health"))).status).toBe(503);
});
