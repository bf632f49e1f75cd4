/** SqlDriver over a D1 binding. */
import type { SqlDriver, SqlStatement, SqlValue } from "../../shared/src/app.ts";

/** A bound D1 statement: the parts this backend uses. */
export interface D1BoundLike {
  all<T>(): Promise<{ results: T[] }>;
  first<T>(): Promise<T | null>;
  run(): Promise<D1ResultLike>;
}

export interface D1ResultLike {
  meta: { changes: number };
}

/** The parts of the D1Database binding this backend uses (no @cloudflare/workers-types dependency). */
export interface D1Like {
  prepare(sql: string): { bind(...values: SqlValue[]): D1BoundLike };
  /** Runs the statements in order as one SQL transaction: any failure rolls back all of them. */
  batch(statements: D1BoundLike[]): Promise<D1ResultLike[]>;
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
    async batch(statements: SqlStatement[]) {
      const results = await db.batch(statements.map(({ sql, params }) => db.prepare(sql).bind(...params)));
      return results.map((result) => result.meta.changes);
    },
  };
}
