/** SqlDriver over bun:sqlite: the synchronous calls, wrapped to fit the shared async interface. */
import type { Database } from "bun:sqlite";
import type { SqlDriver, SqlStatement, SqlValue } from "../../shared/src/app.ts";

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
    async batch(statements: SqlStatement[]) {
      // BEGIN IMMEDIATE: the write lock is taken up front; bun:sqlite is synchronous, so no
      // other request runs between the statements, and an exception rolls them all back.
      return db
        .transaction(() => statements.map(({ sql, params }) => db.query(sql).run(...params).changes))
        .immediate();
    },
  };
}
