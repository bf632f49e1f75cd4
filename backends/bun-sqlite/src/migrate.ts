/**
 * Applies backends/shared/migrations/*.sql (the same files wrangler applies
 * to D1) in name order. PRAGMA user_version records how many have run; each
 * file and its version bump commit together.
 */
import type { Database } from "bun:sqlite";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const MIGRATIONS_DIR = resolve(import.meta.dir, "../../shared/migrations");

export function migrate(db: Database, dir: string = MIGRATIONS_DIR): number {
  const files = readdirSync(dir)
    .filter((name) => /^\d{4}_.*\.sql$/.test(name))
    .sort();
  const { user_version: current } = db.query("PRAGMA user_version").get() as { user_version: number };
  if (current > files.length) {
    throw new Error(`database schema version ${current} is newer than this code (${files.length} migrations)`);
  }
  for (const [index, name] of files.entries()) {
    if (index < current) continue;
    const sql = readFileSync(join(dir, name), "utf8");
    db.transaction(() => {
      db.run(sql);
      db.run(`PRAGMA user_version = ${index + 1}`);
    })();
  }
  return files.length;
}
