/** Settings, read once from the environment; a bad value stops start-up with a message naming the variable. */
import { isAbsolute, join, resolve } from "node:path";

export interface Settings {
  /** PORT: TCP port to listen on. Default 3001. */
  port: number;
  /** HOST: address to bind. Default 0.0.0.0 (containers); tests use 127.0.0.1. */
  host: string;
  /** DATABASE_URL=file:<path>: SQLite file; a relative path is relative to backends/bun-sqlite. Default file:./data/gtd.db. */
  databasePath: string;
  /** BACKEND_ID: the id reported by /health. Default "bun-sqlite". */
  backendId: string;
}

const BACKEND_DIR = resolve(import.meta.dir, "..");

export class SettingsError extends Error {}

export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  return {
    port: parsePort(env.PORT ?? "3001"),
    host: env.HOST || "0.0.0.0",
    databasePath: parseDatabaseUrl(env.DATABASE_URL ?? "file:./data/gtd.db"),
    backendId: env.BACKEND_ID || "bun-sqlite",
  };
}

function parsePort(raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new SettingsError(`PORT must be an integer between 1 and 65535, got ${JSON.stringify(raw)}`);
  }
  return port;
}

function parseDatabaseUrl(raw: string): string {
  if (!raw.startsWith("file:") || raw.length === "file:".length) {
    throw new SettingsError(`DATABASE_URL must look like file:<path>, got ${JSON.stringify(raw)}`);
  }
  const path = raw.slice("file:".length);
  if (path === ":memory:") return path;
  return isAbsolute(path) ? path : join(BACKEND_DIR, path);
}
