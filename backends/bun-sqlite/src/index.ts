/**
 * bun-sqlite backend: the shared GTD app served by Bun.serve over bun:sqlite.
 *
 *   PORT=3001 DATABASE_URL=file:./data/gtd.db bun run backends/bun-sqlite/src/index.ts
 */
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createApp, jsonLog, Store } from "../../shared/src/app.ts";
import { bunDriver } from "./driver.ts";
import { migrate } from "./migrate.ts";
import { loadSettings, SettingsError } from "./settings.ts";

function openDatabase(path: string): Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA foreign_keys = ON");
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA synchronous = NORMAL");
  return db;
}

function main(): void {
  let settings;
  try {
    settings = loadSettings();
  } catch (err) {
    if (err instanceof SettingsError) {
      jsonLog("error", `invalid setting: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }

  const db = openDatabase(settings.databasePath);
  const version = migrate(db);
  const app = createApp({ store: new Store(bunDriver(db)), backendId: settings.backendId });
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({ port: settings.port, hostname: settings.host, fetch: app });
  } catch (err) {
    jsonLog("error", `cannot listen on ${settings.host}:${settings.port} (PORT/HOST)`, { error: String(err) });
    db.close();
    process.exit(1);
  }
  jsonLog("info", "listening", {
    url: `http://${settings.host}:${server.port}`,
    backend: settings.backendId,
    database: settings.databasePath,
    schema_version: version,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    jsonLog("info", "shutting down", { signal });
    await server.stop(); // stop accepting; let in-flight requests finish
    db.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main();
