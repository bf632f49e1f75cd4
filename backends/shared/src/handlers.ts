/** The GTD endpoints: parse and check input, call the Store, shape the response. */
import { ApiError, invalid, notFound } from "./errors.ts";
import { empty, json } from "./http.ts";
import { fingerprint, type IdempotentWrite, parseIdempotencyKey, replay } from "./idempotency.ts";
import type { RouteContext } from "./router.ts";
import type { Store } from "./store.ts";
import {
  isUuid,
  parseProjectFields,
  parseProjectFilter,
  parseTaskFields,
  parseTaskFilter,
} from "./validation.ts";

export interface Services {
  store: Store;
  backendId: string;
  log: (level: "info" | "error", message: string, extra?: Record<string, unknown>) => void;
}

type Ctx = RouteContext<Services>;

export const MAX_BODY_BYTES = 1_048_576;

const JSON_TYPE_RE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/** Reads a JSON body: 415 for a non-JSON Content-Type, 413 if too large, 400 if unparseable. */
async function readJson(request: Request): Promise<unknown> {
  return parseJson(await readBody(request));
}

/** The raw body bytes: 415 for a non-JSON Content-Type, 413 if too large. */
async function readBody(request: Request): Promise<Uint8Array> {
  const type = request.headers.get("content-type");
  if (type !== null && !JSON_TYPE_RE.test(type)) {
    throw new ApiError(415, "unsupported_media_type", "request body must be application/json");
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
  return bytes;
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

const tooLarge = () =>
  new ApiError(413, "payload_too_large", `request body must be at most ${MAX_BODY_BYTES} bytes`);

/** A referenced project must exist; otherwise the request is invalid, not "not found". */
async function checkProjectRef(store: Store, projectId: string | null | undefined): Promise<void> {
  if (projectId && !(await store.projectExists(projectId))) {
    throw invalid("project_id", "project_id does not name an existing project");
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
  const filter = parseTaskFilter(url.searchParams);
  return json(200, { tasks: await services.store.listTasks(filter) });
}

export function createTask(ctx: Ctx): Promise<Response> {
  const { store } = ctx.services;
  return createOnce(ctx, async (body, idempotency) => {
    const fields = parseTaskFields(body, "create");
    await checkProjectRef(store, fields.project_id);
    return store.createTask(fields, idempotency);
  });
}

export async function getTask(ctx: Ctx): Promise<Response> {
  const task = await ctx.services.store.getTask(pathId(ctx, "task"));
  if (!task) throw notFound("task");
  return json(200, task);
}

export async function updateTask(ctx: Ctx): Promise<Response> {
  const { store } = ctx.services;
  const id = pathId(ctx, "task");
  // The path is checked before the body: a PATCH to a missing task is a 404 whatever it carries.
  if (!(await store.getTask(id))) throw notFound("task");
  const fields = parseTaskFields(await readJson(ctx.request), "update");
  await checkProjectRef(store, fields.project_id);
  const task = await store.updateTask(id, fields);
  if (!task) throw notFound("task"); // deleted meanwhile
  return json(200, task);
}

export async function deleteTask(ctx: Ctx): Promise<Response> {
  if (!(await ctx.services.store.deleteTask(pathId(ctx, "task")))) throw notFound("task");
  return empty(204);
}

// --- projects ----------------------------------------------------------------

export async function listProjects({ url, services }: Ctx): Promise<Response> {
  const filter = parseProjectFilter(url.searchParams);
  return json(200, { projects: await services.store.listProjects(filter) });
}

export function createProject(ctx: Ctx): Promise<Response> {
  const { store } = ctx.services;
  return createOnce(ctx, async (body, idempotency) =>
    store.createProject(parseProjectFields(body, "create"), idempotency),
  );
}

export async function getProject(ctx: Ctx): Promise<Response> {
  const project = await ctx.services.store.getProject(pathId(ctx, "project"));
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
