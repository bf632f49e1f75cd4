// The one gateway client. Server-only: it reads GATEWAY_URL and API_KEY from
// the server's environment, so neither can end up in a client bundle (the
// `server-only` import makes such an import a build error).
import "server-only";

import { cookies } from "next/headers";

import type {
  ApiError,
  ApiResult,
  BackendsListing,
  Counts,
  ExportDocument,
  ImportResult,
  IsoDate,
  ListTasksQuery,
  Location,
  Project,
  ProjectCreate,
  ProjectList,
  ProjectUpdate,
  Selection,
  ServedBy,
  Task,
  TaskCreate,
  TaskList,
  TaskUpdate,
} from "./types";

export const BACKEND_COOKIE = "gtd-backend";
export const LOCATION_COOKIE = "gtd-location";
const BACKEND_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const TIMEOUT_MS = 15_000;
/** Export/import move whole stores (10,000 tasks ≈ 4 MB): more time than a list. */
const BULK_TIMEOUT_MS = 60_000;

function gatewayUrl(): string {
  return (process.env.GATEWAY_URL || "http://127.0.0.1:8787").replace(/\/+$/, "");
}

export function isBackendId(value: unknown): value is string {
  return typeof value === "string" && BACKEND_ID.test(value);
}

export function isLocation(value: unknown): value is Location {
  return value === "local" || value === "cloud";
}

/** The user's choice of backend and location, from cookies (absent: the gateway's defaults). */
export async function getSelection(): Promise<Selection> {
  const jar = await cookies();
  const backend = jar.get(BACKEND_COOKIE)?.value;
  const location = jar.get(LOCATION_COOKIE)?.value;
  return {
    backend: isBackendId(backend) ? backend : null,
    location: isLocation(location) ? location : null,
  };
}

/** `upstream;dur=12.3, gateway;dur=14` → {upstream: 12.3, gateway: 14}. */
export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (!header) return out;
  for (const metric of header.split(",")) {
    const [name, ...params] = metric.trim().split(";");
    if (!name) continue;
    for (const param of params) {
      const [key, value] = param.trim().split("=");
      if (key?.trim().toLowerCase() === "dur" && value !== undefined) {
        const ms = Number.parseFloat(value.replace(/"/g, ""));
        if (Number.isFinite(ms)) out[name.trim().toLowerCase()] = ms;
      }
    }
  }
  return out;
}

function servedBy(response: Response | null): ServedBy {
  const timing = parseServerTiming(response?.headers.get("server-timing") ?? null);
  return {
    status: response?.status ?? 0,
    backend: response?.headers.get("x-backend") ?? null,
    location: response?.headers.get("x-backend-location") ?? null,
    upstreamMs: timing.upstream ?? null,
    gatewayMs: timing.gateway ?? null,
    requestId: response?.headers.get("x-request-id") ?? null,
  };
}

function asErrorBody(body: unknown): { code?: unknown; message?: unknown; field?: unknown; request_id?: unknown } | null {
  if (body && typeof body === "object" && "error" in body) {
    const error = (body as { error: unknown }).error;
    if (error && typeof error === "object") return error as Record<string, unknown>;
  }
  return null;
}

async function call<T>(
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  options: { body?: unknown; selection?: Selection | null; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiResult<T>> {
  const selection = options.selection === undefined ? await getSelection() : (options.selection ?? { backend: null, location: null });
  const headers = new Headers({ ...options.headers, accept: "application/json", "user-agent": "gtd-frontend" });
  if (selection.backend) headers.set("x-backend", selection.backend);
  if (selection.location) headers.set("x-backend-location", selection.location);
  const key = process.env.API_KEY;
  if (key) headers.set("x-api-key", key);
  let body: string | undefined;
  if (options.body !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(options.body);
  }

  let response: Response;
  try {
    response = await fetch(gatewayUrl() + path, {
      method,
      headers,
      body,
      cache: "no-store",
      signal: AbortSignal.timeout(options.timeoutMs ?? TIMEOUT_MS),
    });
  } catch (exc) {
    const timedOut = exc instanceof Error && (exc.name === "TimeoutError" || exc.name === "AbortError");
    return {
      ok: false,
      served: servedBy(null),
      error: {
        status: 0,
        code: timedOut ? "gateway_timeout" : "gateway_unreachable",
        message: timedOut ? `The gateway did not answer within ${(options.timeoutMs ?? TIMEOUT_MS) / 1000} s` : "The gateway cannot be reached",
        requestId: null,
        backend: selection.backend,
      },
    };
  }

  const served = servedBy(response);
  let parsed: unknown = null;
  if (response.status !== 204) {
    const text = await response.text();
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
  }
  if (response.ok) {
    // A completing PATCH of a recurring task names the occurrence it created (contract v2).
    const next = response.headers.get("next-occurrence-id");
    return next ? { ok: true, data: parsed as T, served, nextOccurrenceId: next.toLowerCase() } : { ok: true, data: parsed as T, served };
  }

  const err = asErrorBody(parsed);
  const error: ApiError = {
    status: response.status,
    code: typeof err?.code === "string" ? err.code : `http_${response.status}`,
    message: typeof err?.message === "string" ? err.message : response.statusText || "Unexpected answer",
    requestId: (typeof err?.request_id === "string" ? err.request_id : null) ?? served.requestId,
    backend: served.backend ?? selection.backend,
  };
  if (typeof err?.field === "string") error.field = err.field;
  return { ok: false, error, served };
}

function query(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

const id = (value: string) => encodeURIComponent(value);

export const gateway = {
  backends: () => call<BackendsListing>("GET", "/_gateway/backends", { selection: null }),
  health: () => call<{ status: string; version?: string; environment?: string }>("GET", "/_gateway/health", { selection: null }),

  /** Pass ``today`` (the user's date) and ``limit``: no page reads a whole store. */
  listTasks: (filter: ListTasksQuery) => call<TaskList>("GET", `/tasks${query(filter)}`),
  getTask: (taskId: string, today: IsoDate) => call<Task>("GET", `/tasks/${id(taskId)}${query({ today })}`),
  /** The sidebar's numbers in one request. */
  counts: (today: IsoDate) => call<Counts>("GET", `/counts${query({ today })}`),
  /** With ``idempotencyKey``, a retry of the same capture creates nothing new (the backend replays its first answer). */
  createTask: (body: TaskCreate, options: { idempotencyKey?: string; selection?: Selection } = {}) =>
    call<Task>("POST", "/tasks", {
      body,
      selection: options.selection,
      headers: options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : undefined,
    }),
  updateTask: (taskId: string, body: TaskUpdate, today: IsoDate) => call<Task>("PATCH", `/tasks/${id(taskId)}${query({ today })}`, { body }),
  deleteTask: (taskId: string) => call<null>("DELETE", `/tasks/${id(taskId)}`),

  listProjects: (filter: { today: IsoDate; status?: string; limit?: string; cursor?: string }) => call<ProjectList>("GET", `/projects${query(filter)}`),
  getProject: (projectId: string, today: IsoDate) => call<Project>("GET", `/projects/${id(projectId)}${query({ today })}`),
  createProject: (body: ProjectCreate) => call<Project>("POST", "/projects", { body }),
  updateProject: (projectId: string, body: ProjectUpdate, today: IsoDate) => call<Project>("PATCH", `/projects/${id(projectId)}${query({ today })}`, { body }),
  deleteProject: (projectId: string) => call<null>("DELETE", `/projects/${id(projectId)}`),

  /** The whole store of the chosen backend (or of ``selection``'s), oldest first. */
  exportAll: (selection?: Selection) => call<ExportDocument>("GET", "/export", { selection, timeoutMs: BULK_TIMEOUT_MS }),
  /** Merge by id; re-importing the same document changes nothing. */
  importAll: (document: unknown, selection?: Selection) =>
    call<ImportResult>("POST", "/import", { body: document, selection, timeoutMs: BULK_TIMEOUT_MS }),
};
