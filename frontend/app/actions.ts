"use server";

// Every mutation goes through here: the browser calls these Server Actions,
// they call the gateway (server-side, with the API key) and hand back the
// result with the headers that say who served it.
import { cookies } from "next/headers";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";

import { isTransient } from "@/lib/format";
import { BACKEND_COOKIE, LOCATION_COOKIE, gateway, isBackendId, isLocation } from "@/lib/gateway";
import type { ActionResult, ApiError, ApiResult, Project, Selection, Task, TaskCreate, TaskUpdate } from "@/lib/types";
import { isTaskStatus } from "@/lib/types";

const COOKIE_OPTIONS = { path: "/", sameSite: "lax", httpOnly: true, maxAge: 60 * 60 * 24 * 365 } as const;

function done<T>(result: ApiResult<T>): ActionResult<T> {
  if (result.ok) revalidatePath("/", "layout");
  return result;
}

function invalid(field: string, message: string): ActionResult<never> {
  const error: ApiError = { status: 422, code: "validation_error", message, field, requestId: null, backend: null };
  return { ok: false, error, served: null };
}

function text(form: FormData, name: string): string | null {
  const value = form.get(name);
  return typeof value === "string" ? value : null;
}

/** Empty → null (clears the field); absent from the form → undefined (left as is). */
function nullable(form: FormData, name: string): string | null | undefined {
  if (!form.has(name)) return undefined;
  const value = (text(form, name) ?? "").trim();
  return value === "" ? null : value;
}

function normaliseContext(value: string | null | undefined): string | null | undefined {
  if (value === null || value === undefined) return value;
  return value.startsWith("@") ? value : `@${value}`;
}

// ---- backend selection ----

export async function selectBackend(form: FormData): Promise<void> {
  const backend = text(form, "backend");
  const location = text(form, "location");
  const jar = await cookies();
  if (isBackendId(backend)) {
    if (jar.get(BACKEND_COOKIE)?.value !== backend) jar.delete(LOCATION_COOKIE);
    jar.set(BACKEND_COOKIE, backend, COOKIE_OPTIONS);
  }
  if (isLocation(location)) jar.set(LOCATION_COOKIE, location, COOKIE_OPTIONS);
  else if (location === "auto") jar.delete(LOCATION_COOKIE);
  revalidatePath("/", "layout");
}

// ---- tasks ----

/** The Idempotency-Key syntax every backend accepts: 1-255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Create a task. The outbox passes ``idempotencyKey`` (sent as the
 * `Idempotency-Key` header, so a retry is answered with the first result
 * instead of a second task) and the backend and location the capture was made
 * for: a capture queued while bun-sqlite was down goes to bun-sqlite even if
 * the user has switched to another backend since. Without them: the cookie's
 * choice, no key (Undo).
 */
export async function createTask(
  input: TaskCreate,
  options: { idempotencyKey?: string; backend?: string | null; location?: string | null } = {},
): Promise<ActionResult<Task>> {
  const title = input.title?.trim() ?? "";
  if (!title) return invalid("title", "Type something to capture");
  const body: TaskCreate = { ...input, title };
  if (body.context !== undefined) body.context = normaliseContext(body.context);
  const { idempotencyKey, backend, location } = options;
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) return invalid("idempotency_key", "Not a valid Idempotency-Key");
  let selection: Selection | undefined;
  if (backend !== undefined) {
    if (backend !== null && !isBackendId(backend)) return invalid("backend", "Unknown backend");
    if (location != null && !isLocation(location)) return invalid("location", "Unknown location");
    selection = { backend, location: location ?? null };
  }
  const result = await gateway.createTask(body, { idempotencyKey, selection });
  // Re-rendered on success, and also when the backend could not be reached: the page then
  // shows that (the inline error, which retries by itself; the backend's dot) instead of a
  // board that looks fine while its captures wait in the outbox. Not after a gateway that
  // did not answer at all within the deadline: rendering would wait that long again.
  if (result.ok || (isTransient(result.error) && result.error.code !== "gateway_timeout")) revalidatePath("/", "layout");
  return result;
}

export async function updateTask(taskId: string, patch: TaskUpdate): Promise<ActionResult<Task>> {
  if (Object.keys(patch).length === 0) return invalid("title", "Nothing to change");
  return done(await gateway.updateTask(taskId, patch));
}

export async function moveTask(taskId: string, status: string): Promise<ActionResult<Task>> {
  if (!isTaskStatus(status)) return invalid("status", "Unknown status");
  return done(await gateway.updateTask(taskId, { status }));
}

export async function deleteTask(taskId: string): Promise<ActionResult<null>> {
  return done(await gateway.deleteTask(taskId));
}

/** The edit form (useActionState): every field of the task at once. */
export async function saveTask(_previous: ActionResult<Task> | null, form: FormData): Promise<ActionResult<Task>> {
  const taskId = text(form, "id") ?? "";
  const title = (text(form, "title") ?? "").trim();
  if (!title) return invalid("title", "A task needs a title");
  const status = text(form, "status");
  const patch: TaskUpdate = {
    title,
    notes: nullable(form, "notes"),
    context: normaliseContext(nullable(form, "context")),
    due_date: nullable(form, "due_date"),
    project_id: nullable(form, "project_id"),
  };
  if (status !== null) {
    if (!isTaskStatus(status)) return invalid("status", "Unknown status");
    patch.status = status;
  }
  for (const key of Object.keys(patch) as (keyof TaskUpdate)[]) if (patch[key] === undefined) delete patch[key];
  return done(await gateway.updateTask(taskId, patch));
}

// ---- projects ----

export async function createProject(_previous: ActionResult<Project> | null, form: FormData): Promise<ActionResult<Project>> {
  const name = (text(form, "name") ?? "").trim();
  if (!name) return invalid("name", "A project needs a name");
  const notes = nullable(form, "notes");
  return done(await gateway.createProject(notes ? { name, notes } : { name }));
}

export async function deleteProject(projectId: string): Promise<ActionResult<null>> {
  const result = await gateway.deleteProject(projectId);
  if (!result.ok) return result;
  revalidatePath("/", "layout");
  redirect("/projects");
}
