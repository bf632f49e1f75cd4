"use server";

// Every mutation goes through here: the browser calls these Server Actions,
// they call the gateway (server-side, with the API key) and hand back the
// result with the headers that say who served it.
import { cookies } from "next/headers";
import { revalidatePath } from "next/cache";
import { redirect } from "next/navigation";

import { PAGE_SIZE, listPage } from "@/lib/board";
import { isIsoDate } from "@/lib/dates";
import { isTransient } from "@/lib/format";
import { BACKEND_COOKIE, LOCATION_COOKIE, gateway, isBackendId, isLocation } from "@/lib/gateway";
import { ruleFromForm } from "@/lib/repeat";
import { userToday } from "@/lib/today";
import type { ActionResult, ApiError, ApiResult, ExportTask, ListTasksQuery, Project, ProjectUpdate, Selection, Task, TaskCreate, TaskList, TaskUpdate } from "@/lib/types";
import { isTaskStatus } from "@/lib/types";
import { QUERY_KEYS } from "@/lib/views";

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
  return done(await gateway.updateTask(taskId, patch, await userToday()));
}

/** Move (or complete) a task; completing a recurring one answers ``nextOccurrenceId``. */
export async function moveTask(taskId: string, status: string): Promise<ActionResult<Task>> {
  if (!isTaskStatus(status)) return invalid("status", "Unknown status");
  return done(await gateway.updateTask(taskId, { status }, await userToday()));
}

export async function deleteTask(taskId: string): Promise<ActionResult<null>> {
  return done(await gateway.deleteTask(taskId));
}

/**
 * Undo a move or a completion: the task goes back to ``previous``; when completing it created
 * the next occurrence of a recurring task, that occurrence is deleted (by its id).
 */
export async function undoMove(taskId: string, previous: string, occurrenceId: string | null): Promise<ActionResult<Task>> {
  if (!isTaskStatus(previous)) return invalid("status", "Unknown status");
  if (occurrenceId !== null) {
    const removed = await gateway.deleteTask(occurrenceId);
    // Already gone (deleted by hand meanwhile) is what undo wants anyway.
    if (!removed.ok && removed.error.code !== "not_found") return removed;
  }
  return done(await gateway.updateTask(taskId, { status: previous }, await userToday()));
}

/**
 * Undo a delete: the task as it was served, re-created through /import, which keeps its id,
 * timestamps and dependencies (a POST /tasks would give it a new id).
 */
export async function restoreTask(task: Task): Promise<ActionResult<Task>> {
  // Exactly the export members (the read-only `blocked`, or anything a client added, is refused).
  const exported: ExportTask = {
    id: task.id,
    title: task.title,
    notes: task.notes,
    status: task.status,
    project_id: task.project_id,
    context: task.context,
    due_date: task.due_date,
    defer_until: task.defer_until,
    repeat: task.repeat,
    blocked_by: task.blocked_by,
    completed_at: task.completed_at,
    created_at: task.created_at,
    updated_at: task.updated_at,
  };
  const result = await gateway.importAll({ version: 2, projects: [], tasks: [exported] });
  if (!result.ok) return result;
  return done(await gateway.getTask(task.id, await userToday()));
}

/** The next page of a list ("Show more"): the same filters, after ``cursor``. */
export async function moreTasks(query: ListTasksQuery, cursor: string): Promise<ActionResult<TaskList>> {
  const clean: Record<string, string> = {};
  for (const key of QUERY_KEYS) {
    const value = query[key];
    if (typeof value === "string" && value) clean[key] = value;
  }
  if (!cursor) return invalid("cursor", "Nothing more to show");
  return listPage({ ...clean, cursor }, await userToday(), PAGE_SIZE);
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
    defer_until: nullable(form, "defer_until"),
  };
  if (form.has("repeat_freq")) {
    const repeat = ruleFromForm(form);
    if (repeat === "invalid") return invalid("repeat", "Check the repeat settings");
    patch.repeat = repeat;
  }
  if (form.has("blocked_by_present")) patch.blocked_by = form.getAll("blocked_by").filter((value): value is string => typeof value === "string" && value !== "");
  if (status !== null) {
    if (!isTaskStatus(status)) return invalid("status", "Unknown status");
    patch.status = status;
  }
  for (const key of Object.keys(patch) as (keyof TaskUpdate)[]) if (patch[key] === undefined) delete patch[key];
  return done(await gateway.updateTask(taskId, patch, await userToday()));
}

// ---- projects ----

export async function createProject(_previous: ActionResult<Project> | null, form: FormData): Promise<ActionResult<Project>> {
  const name = (text(form, "name") ?? "").trim();
  if (!name) return invalid("name", "A project needs a name");
  const notes = nullable(form, "notes");
  return done(await gateway.createProject(notes ? { name, notes } : { name }));
}

/** The project page's form: name, status, notes, reviewed on. */
export async function saveProject(_previous: ActionResult<Project> | null, form: FormData): Promise<ActionResult<Project>> {
  const projectId = text(form, "id") ?? "";
  const name = (text(form, "name") ?? "").trim();
  if (!name) return invalid("name", "A project needs a name");
  const status = text(form, "status");
  if (status !== "active" && status !== "someday" && status !== "done") return invalid("status", "Unknown status");
  const reviewed = nullable(form, "reviewed_on");
  if (reviewed && !isIsoDate(reviewed)) return invalid("reviewed_on", "Not a date");
  const patch: ProjectUpdate = { name, status, notes: nullable(form, "notes") ?? null, reviewed_on: reviewed ?? null };
  return done(await gateway.updateProject(projectId, patch, await userToday()));
}

/** The weekly review's "mark reviewed": reviewed_on = the user's today. */
export async function markReviewed(projectId: string): Promise<ActionResult<Project>> {
  const today = await userToday();
  return done(await gateway.updateProject(projectId, { reviewed_on: today }, today));
}

export async function deleteProject(projectId: string): Promise<ActionResult<null>> {
  const result = await gateway.deleteProject(projectId);
  if (!result.ok) return result;
  revalidatePath("/", "layout");
  redirect("/projects");
}
