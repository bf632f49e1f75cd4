/** SqlDriver over bun:sqlite: the synchronous calls, wrapped to fit the shared async interface. */
import type { Database } from "bun:sqlite";
import type { SqlDriver, SqlValue } from "../../shared/src/app.ts";

export function bunDriver(db: Database): SqlDriver {
  // db.query() caches the prepared statement per SQL string.
  return {
    async all<T>(sql: string, params: SqlValue[] = []) {
      return db.query(sql).all(...params) as T[];
    },
    async first<T>(sql: string, params: SqlValue[] = []) {
      return (db.query(sql).get(...params) as T | null) ?? null;
    },
    async run(sql: string, params: SqlValue[] = []) {
      return db.query(sql).run(...params).changes;
    },
  };
}
