/** The GTD endpoints: parse and check input, call the Store, shape the response. */
import { ApiError, invalid, notFound } from "./errors.ts";
import { empty, json } from "./http.ts";
import { fingerprint, type IdempotentWrite, parseIdempotencyKey, replay } from "./idempotency.ts";
import { EXPORT_VERSION, referencedIds, validateDocument } from "./import.ts";
import type { RouteContext } from "./router.ts";
import type { Store } from "./store.ts";
import {
  hasDuplicates,
  isUuid,
  parseCountsQuery,
  parseProjectFields,
  parseProjectFilter,
  parseTaskFields,
  parseTaskFilter,
  parseToday,
} from "./validation.ts";

export interface Services {
  store: Store;
  backendId: string;
  log: (level: "info" | "error", message: string, extra?: Record<string, unknown>) => void;
}

type Ctx = RouteContext<Services>;

export const MAX_BODY_BYTES = 1_048_576;
/** POST /import only: a whole export (10,000 tasks are about 4 MB) must fit. */
export const MAX_IMPORT_BYTES = 32 * 1_048_576;

const JSON_TYPE_RE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** Reads a JSON body: 415 for a non-JSON Content-Type, 413 if too large, 400 if unparseable. */
async function readJson(request: Request): Promise<unknown> {
  return parseJson(await readBody(request));
}

/** The raw body bytes: 415 for a non-JSON Content-Type, 413 if over `max` bytes. */
async function readBody(request: Request, max: number = MAX_BODY_BYTES): Promise<Uint8Array> {
  const type = request.headers.get("content-type");
  if (type !== null && !JSON_TYPE_RE.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "request body must be application/json");
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) {
    await drain(request);
    throw tooLarge(max);
  }
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > max) throw tooLarge(max);
  return bytes;
}

/** How much of a refused body is still read (and dropped) before answering 413. */
const DRAIN_BYTES = 64 * 1_048_576;

/**
 * Reads and drops a refused body (up to DRAIN_BYTES). Closing a socket with
 * unread data makes the kernel reset it, and a proxy in front (the gateway
 * Worker) can then lose the 413 itself along with the connection.
 */
async function drain(request: Request): Promise<void> {
  const reader = request.body?.getReader();
  if (!reader) return;
  for (let seen = 0; seen <= DRAIN_BYTES; ) {
    const { done, value } = await reader.read();
    if (done) return;
    seen += value.byteLength;
  }
  await reader.cancel();
}

/** Body bytes as JSON: 400 if empty, not UTF-8 or not parseable. */
function parseJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    // ignoreBOM spelled out: workers-types requires it (false is the default everywhere).
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, "invalid_json", "request body is not valid UTF-8");
  }
  if (text.trim() === "") throw new ApiError(400, "invalid_json", "request body is empty");
  try {
    return JSON.parse(text);
  } catch {
    // The parser's own message differs between JavaScriptCore (Bun) and V8 (workerd); keep ours stable.
    throw new ApiError(400, "invalid_json", "request body is not valid JSON");
  }
}

const tooLarge = (max: number) =>
  new ApiError(413, "payload_too_large", `request body must be at most ${max} bytes`);

/** A referenced project must exist; otherwise the request is invalid, not "not found". */
async function checkProjectRef(store: Store, projectId: string | null | undefined): Promise<void> {
  if (projectId && !(await store.projectExists(projectId))) {
    throw invalid("project_id", "project_id does not name an existing project");
  }
}

/**
 * `blocked_by` against the store, after the field checks and project_id:
 * every id names a task, not the task itself, none twice; then no cycle.
 */
async function checkBlockers(store: Store, taskId: string | null, blockers: string[] | undefined): Promise<void> {
  if (!blockers || blockers.length === 0) return;
  const found = await store.taskStatuses(blockers);
  if (found.size !== new Set(blockers).size) throw invalid("blocked_by", "blocked_by names a task that does not exist");
  if (taskId !== null && blockers.includes(taskId)) throw invalid("blocked_by", "a task cannot be blocked by itself");
  if (hasDuplicates(blockers)) throw invalid("blocked_by", "blocked_by names a task twice");
  // A new task has no dependants yet, so only a PATCH can close a cycle.
  if (taskId !== null && (await store.wouldCycle(taskId, blockers))) {
    throw invalid("blocked_by", "blocked_by would make a dependency cycle");
  }
}

/** Path ids: anything that is not a UUID cannot exist, so it is a 404 like any unknown id. */
function pathId(ctx: Ctx, what: string): string {
  const id = ctx.params.id;
  if (!isUuid(id)) throw notFound(what);
  return id.toLowerCase();
}

export async function health({ services }: Ctx): Promise<Response> {
  const { store, backendId, log } = services;
  try {
    await store.ping();
    return json(200, { status: "ok", backend: backendId, db: "ok" });
  } catch (err) {
    log("error", "health check: database query failed", { error: String(err) });
    return json(503, { status: "error", backend: backendId, db: "error" });
  }
}

// --- creating, at most once per Idempotency-Key ------------------------------

type Create = (body: unknown, idempotency?: IdempotentWrite) => Promise<{ id: string }>;

/**
 * A POST that creates something, honouring Idempotency-Key: the key is checked
 * before the body (400), a stored key answers with the stored response (or 422
 * for a different request), and a new key is stored by `create` together with
 * its row. If that write fails because a concurrent request with the same key
 * stored it first, the stored answer is what this request answers too.
 */
async function createOnce(ctx: Ctx, create: Create): Promise<Response> {
  const { request, url, services } = ctx;
  const key = parseIdempotencyKey(request.headers);
  const bytes = await readBody(request);
  const path = url.pathname;
  if (key === null) return created(path, await create(parseJson(bytes)));

  const requestFingerprint = await fingerprint(request.method, path, bytes);
  const stored = await services.store.findIdempotencyKey(key);
  if (stored) return replay(stored, requestFingerprint, path);
  try {
    return created(path, await create(parseJson(bytes), { key, fingerprint: requestFingerprint }));
  } catch (err) {
    const winner = err instanceof ApiError ? null : await services.store.findIdempotencyKey(key);
    if (winner) return replay(winner, requestFingerprint, path);
    throw err;
  }
}

const created = (path: string, resource: { id: string }): Response =>
  json(201, resource, { location: `${path}/${resource.id}` });

// --- tasks -------------------------------------------------------------------

export async function listTasks({ url, services }: Ctx): Promise<Response> {
  const { items, next_cursor } = await services.store.listTasks(parseTaskFilter(url.searchParams));
  return json(200, { tasks: items, next_cursor });
}

export function createTask(ctx: Ctx): Promise<Response> {
  const { store } = ctx.services;
  return createOnce(ctx, async (body, idempotency) => {
    const fields = parseTaskFields(body, "create");
    await checkProjectRef(store, fields.project_id);
    await checkBlockers(store, null, fields.blocked_by);
    return store.createTask(fields, idempotency);
  });
}

export async function getTask(ctx: Ctx): Promise<Response> {
  const id = pathId(ctx, "task");
  parseToday(ctx.url.searchParams); // accepted and checked; nothing in one task depends on it
  const task = await ctx.services.store.getTask(id);
  if (!task) throw notFound("task");
  return json(200, task);
}

export async function updateTask(ctx: Ctx): Promise<Response> {
  const { store } = ctx.services;
  const id = pathId(ctx, "task");
  // The path is checked before the body: a PATCH to a missing task is a 404 whatever it carries.
  if (!(await store.getTask(id))) throw notFound("task");
  const today = parseToday(ctx.url.searchParams);
  const fields = parseTaskFields(await readJson(ctx.request), "update");
  await checkProjectRef(store, fields.project_id);
  await checkBlockers(store, id, fields.blocked_by);
  const updated = await store.updateTask(id, fields, today);
  if (!updated) throw notFound("task"); // deleted meanwhile
  const headers: Record<string, string> = {};
  if (updated.nextId !== null) headers["next-occurrence-id"] = updated.nextId;
  return json(200, updated.task, headers);
}

export async function deleteTask(ctx: Ctx): Promise<Response> {
  if (!(await ctx.services.store.deleteTask(pathId(ctx, "task")))) throw notFound("task");
  return empty(204);
}

// --- projects ----------------------------------------------------------------

export async function listProjects({ url, services }: Ctx): Promise<Response> {
  const { items, next_cursor } = await services.store.listProjects(parseProjectFilter(url.searchParams));
  return json(200, { projects: items, next_cursor });
}

export function createProject(ctx: Ctx): Promise<Response> {
  const { store } = ctx.services;
  return createOnce(ctx, async (body, idempotency) =>
    store.createProject(parseProjectFields(body, "create"), idempotency),
  );
}

export async function getProject(ctx: Ctx): Promise<Response> {
  const id = pathId(ctx, "project");
  parseToday(ctx.url.searchParams); // accepted and checked; projects do not depend on it
  const project = await ctx.services.store.getProject(id);
  if (!project) throw notFound("project");
  return json(200, project);
}

export async function updateProject(ctx: Ctx): Promise<Response> {
  const { store } = ctx.services;
  const id = pathId(ctx, "project");
  if (!(await store.getProject(id))) throw notFound("project");
  const fields = parseProjectFields(await readJson(ctx.request), "update");
  const project = await store.updateProject(id, fields);
  if (!project) throw notFound("project");
  return json(200, project);
}

export async function deleteProject(ctx: Ctx): Promise<Response> {
  if (!(await ctx.services.store.deleteProject(pathId(ctx, "project")))) throw notFound("project");
  return empty(204);
}

// --- the sidebar, export and import --------------------------------------------

export async function counts({ url, services }: Ctx): Promise<Response> {
  const today = parseCountsQuery(url.searchParams);
  return json(200, await services.store.counts(today));
}

export async function exportAll({ url, services }: Ctx): Promise<Response> {
  for (const key of url.searchParams.keys()) throw invalid(key, `unknown query parameter '${key}'`);
  const { projects, tasks } = await services.store.exportAll();
  return json(200, { version: EXPORT_VERSION, exported_at: new Date().toISOString(), projects, tasks });
}

/**
 * Merges an export into this store. Idempotency-Key is ignored: importing the
 * same document twice already changes nothing the second time. Everything is
 * checked before anything is written.
 */
export async function importAll({ request, services }: Ctx): Promise<Response> {
  const { store } = services;
  const body = parseJson(await readBody(request, MAX_IMPORT_BYTES));
  const refs = referencedIds(body);
  const doc = validateDocument(body, await store.existingIds(refs.projects, refs.tasks));
  return json(200, await store.importDocument(doc));
}
