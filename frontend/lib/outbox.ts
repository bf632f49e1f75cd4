// The outbox: a capture is never lost. Each capture is written to IndexedDB
// (database `gtd-outbox`) before it is sent, with a fresh UUID as its
// Idempotency-Key and the backend and location it was made for; it is deleted
// only once a backend has answered 2xx (201, or a replay of the first answer).
// Transient failures leave it queued and it is sent again: on page load, on
// `online`, when the tab becomes visible, and on a timer backing off from 1 s
// to 10 s while anything waits. The key makes a second send harmless, so a
// retry after a lost answer, or two tabs racing, create exactly one task.
// Client-only (IndexedDB, navigator); every export is a no-op on the server.
import { useSyncExternalStore } from "react";

import { createTask } from "@/app/actions";
import type { ActionResult, Task, TaskCreate } from "./types";

export interface OutboxItem {
  /** The Idempotency-Key, also the IndexedDB key. */
  key: string;
  /** The backend and location the capture was made for (null: the gateway's default). */
  backend: string | null;
  location: string | null;
  body: TaskCreate;
  created_at: string;
  attempts: number;
  /** The error code of the last failed attempt ("offline" when the browser was). */
  last_error: string | null;
}

const DB = "gtd-outbox";
const STORE = "captures";
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 10_000;
const ACTION_DEADLINE_MS = 20_000;
const NONE: OutboxItem[] = [];

let items: OutboxItem[] = NONE;
const listeners = new Set<() => void>();
type Settled = (item: OutboxItem, result: ActionResult<Task>) => void;
const settledHandlers = new Set<Settled>();
/** Refusals no board was there to hear about (their text must still get back to the user). */
const unclaimed: [OutboxItem, ActionResult<Task>][] = [];
let channel: BroadcastChannel | null = null;
let started = false;
let sending = false;
let again = false;
let timer: number | undefined;
let delay = FIRST_DELAY_MS;
/** False once IndexedDB has failed (blocked storage): the outbox then lives in this tab's memory. */
let durable = true;

/** Queued, as opposed to on its first trip: it failed at least once, or the browser was offline. */
export const isWaiting = (item: OutboxItem): boolean => item.attempts > 0 || item.last_error !== null;

// ---- IndexedDB ----

let database: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  database ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return database;
}

/** One transaction; resolves when it has committed (so "written first" means on disk). */
async function transact<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const tx = (await open()).transaction(STORE, mode);
  const request = work(tx.objectStore(STORE));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/** Run a write; on a storage failure fall back to memory rather than lose the capture. */
async function write<T>(work: (store: IDBObjectStore) => IDBRequest<T>): Promise<void> {
  if (!durable) return;
  try {
    await transact("readwrite", work);
    channel?.postMessage("changed");
  } catch {
    durable = false;
  }
}

// ---- in-memory state, shared by every component of the tab ----

function set(next: OutboxItem[]): void {
  items = next.length ? next : NONE;
  for (const listener of listeners) listener();
}

async function reload(): Promise<void> {
  if (!durable) return;
  try {
    const stored = await transact<OutboxItem[]>("readonly", (store) => store.getAll());
    set(stored.sort((a, b) => a.created_at.localeCompare(b.created_at)));
  } catch {
    durable = false;
  }
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Every capture not yet delivered, oldest first (empty during server rendering). */
export function useOutbox(): OutboxItem[] {
  return useSyncExternalStore(
    subscribe,
    () => items,
    () => NONE,
  );
}

/**
 * Be told when a capture leaves the outbox: delivered (ok), or refused for
 * good by a 4xx (its text should go back to the user).
 */
export function onSettled(handler: Settled): () => void {
  settledHandlers.add(handler);
  for (const [item, result] of unclaimed.splice(0)) handler(item, result);
  return () => settledHandlers.delete(handler);
}

function settled(item: OutboxItem, result: ActionResult<Task>): void {
  if (settledHandlers.size) for (const handler of settledHandlers) handler(item, result);
  else if (!result.ok) unclaimed.push([item, result]);
}

// ---- sending ----

function newKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID(); // secure contexts only
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Worth sending again: the gateway or backend is down or overloaded (0, 5xx,
 * 408, 429), or the frontend's API key is wrong (401/403, an operator's fix,
 * not the capture's fault). Any other 4xx is the capture's own problem.
 */
function isTransient(error: { status: number }): boolean {
  return error.status === 0 || error.status >= 500 || [401, 403, 408, 429].includes(error.status);
}

async function remove(item: OutboxItem): Promise<void> {
  set(items.filter((other) => other.key !== item.key));
  await write((store) => store.delete(item.key));
}

async function failed(item: OutboxItem, code: string, attempted: boolean): Promise<void> {
  const next = { ...item, attempts: item.attempts + (attempted ? 1 : 0), last_error: code };
  set(items.map((other) => (other.key === item.key ? next : other)));
  // Only if it is still there: another tab may have delivered it meanwhile.
  await write((store) => {
    const request = store.get(item.key);
    request.onsuccess = () => {
      if (request.result) store.put(next);
    };
    return request;
  });
}

/**
 * The gateway call has its own 15 s deadline; this one is for the Server
 * Action itself (a Next server that accepts the request but never answers),
 * so one hung send cannot hold the queue. If it lands after all, the key
 * makes the next send a replay.
 */
function answerWithin<T>(promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = window.setTimeout(() => reject(new Error("timeout")), ACTION_DEADLINE_MS);
    promise.then(resolve, reject).finally(() => window.clearTimeout(deadline));
  });
}

/** One round over the queue, oldest first. */
async function send(): Promise<void> {
  await reload(); // another tab may have sent (or added) some
  // Why the rest must wait: the browser or the Next server is unreachable (all of it), or a
  // backend failed this round (its later captures, which keeps their order).
  let unreachable: string | null = null;
  const blocked = new Map<string, string>();
  for (const item of items) {
    const target = item.backend ?? "";
    const wait = navigator.onLine ? (unreachable ?? blocked.get(target)) : "offline";
    if (wait) {
      if (!isWaiting(item)) await failed(item, wait, false);
      continue;
    }
    let result;
    try {
      result = await answerWithin(createTask(item.body, { idempotencyKey: item.key, backend: item.backend, location: item.location }));
    } catch {
      // The Server Action itself did not answer (the browser or the Next server is unreachable, or it hangs).
      unreachable = "unreachable";
      await failed(item, unreachable, true);
      continue;
    }
    if (!result.ok && isTransient(result.error)) {
      await failed(item, result.error.code, true);
      blocked.set(target, result.error.code);
    } else {
      await remove(item);
      settled(item, result);
    }
  }
}

function schedule(): void {
  window.clearTimeout(timer);
  if (items.length === 0) {
    delay = FIRST_DELAY_MS;
    return;
  }
  timer = window.setTimeout(flush, delay);
  delay = Math.min(delay * 2, MAX_DELAY_MS);
}

/** Send what waits: one sender per tab, and (where Web Locks exist) one tab at a time. */
function flush(): void {
  if (sending) {
    again = true;
    return;
  }
  sending = true;
  window.clearTimeout(timer);
  const round = navigator.locks
    ? navigator.locks.request(DB, { ifAvailable: true }, (lock) => (lock ? send() : reload()))
    : send();
  void round
    .catch(() => undefined)
    .finally(() => {
      sending = false;
      if (again) {
        again = false;
        flush();
      } else schedule();
    });
}

/** Send now, with the back-off reset ("Send now", `online`, the tab shown again, a new capture). */
export function sendNow(): void {
  delay = FIRST_DELAY_MS;
  flush();
}

/** Keep a capture (IndexedDB first), then send it. */
export async function capture(body: TaskCreate, backend: string | null, location: string | null): Promise<void> {
  const item: OutboxItem = {
    key: newKey(),
    backend,
    location,
    body,
    created_at: new Date().toISOString(),
    attempts: 0,
    last_error: navigator.onLine ? null : "offline",
  };
  await write((store) => store.put(item));
  set([...items, item]);
  sendNow();
}

/** Once per tab: load what earlier pages or tabs left and send it; listen for the moments worth a retry. */
export function startOutbox(): void {
  if (started || typeof indexedDB === "undefined") return;
  started = true;
  window.addEventListener("online", sendNow);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") sendNow();
  });
  if (typeof BroadcastChannel === "function") {
    channel = new BroadcastChannel(DB);
    channel.onmessage = () => void reload();
  }
  sendNow();
}
