/** SqlDriver over a D1 binding. */
import type { SqlDriver, SqlValue } from "../../shared/src/app.ts";

/** The parts of the D1Database binding this backend uses (no @cloudflare/workers-types dependency). */
export interface D1Like {
  prepare(sql: string): {
    bind(...values: SqlValue[]): {
      all<T>(): Promise<{ results: T[] }>;
      first<T>(): Promise<T | null>;
      run(): Promise<{ meta: { changes: number } }>;
    };
  };
}

export function d1Driver(db: D1Like): SqlDriver {
  return {
    async all<T>(sql: string, params: SqlValue[] = []) {
      return (await db.prepare(sql).bind(...params).all<T>()).results;
    },
    async first<T>(sql: string, params: SqlValue[] = []) {
      return await db.prepare(sql).bind(...params).first<T>();
    },
    async run(sql: string, params: SqlValue[] = []) {
      return (await db.prepare(sql).bind(...params).run()).meta.changes;
    },
  };
}
