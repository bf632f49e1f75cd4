// Types shared by server and client code. The API's shapes come from
// `openapi.d.ts`, generated from backends/contract/openapi.yaml
// (`npm run gen:types`; `npm run check:types` fails when it is stale), so a
// change to the contract breaks `npm run typecheck` wherever it matters.
// The gateway's own shapes (/_gateway/backends, gateway errors) are not in
// that contract and are written by hand here, after README.md.
import type { components, operations } from "./openapi";

type Schemas = components["schemas"];

/** `YYYY-MM-DD`. */
export type IsoDate = string;
export type Repeat = NonNullable<Schemas["Repeat"]>;
export type RepeatFrom = Repeat["from"];
export type TaskCounts = Schemas["TaskCounts"];

export type TaskStatus = Schemas["TaskStatus"];
export type Task = Schemas["Task"];
export type TaskCreate = Schemas["TaskCreate"];
export type TaskUpdate = Schemas["TaskUpdate"];
export type TaskList = Schemas["TaskList"];
export type ProjectStatus = Schemas["ProjectStatus"];
export type Project = Schemas["Project"];
export type ProjectCreate = Schemas["ProjectCreate"];
export type ProjectUpdate = Schemas["ProjectUpdate"];
export type ProjectList = Schemas["ProjectList"];
export type ApiErrorBody = Schemas["Error"];
export type ListTasksQuery = NonNullable<operations["listTasks"]["parameters"]["query"]>;
/** `GET /counts`: every number is the length of one list answer (the sidebar in one request). */
export type Counts = Schemas["Counts"];
/** `GET /export` (version 2): a served project without task_counts, a served task without blocked. */
export type ExportProject = Schemas["ExportProject"];
export type ExportTask = Schemas["ExportTask"];
export type ExportDocument = Schemas["ExportDocument"];
export type ImportResult = Schemas["ImportResult"];

// Every status, in GTD order. `satisfies` ties the list to the spec's enum
// both ways: a value that is not a status fails, and so does a missing one.
export const TASK_STATUSES = ["inbox", "next", "waiting", "scheduled", "someday", "done"] as const satisfies readonly TaskStatus[];
type Missing = Exclude<TaskStatus, (typeof TASK_STATUSES)[number]>;
export const ALL_STATUSES_LISTED: Missing extends never ? true : false = true;

export const STATUS_LABELS: Record<TaskStatus, string> = {
  inbox: "Inbox",
  next: "Next",
  waiting: "Waiting",
  scheduled: "Scheduled",
  someday: "Someday",
  done: "Done",
};

export function isTaskStatus(value: unknown): value is TaskStatus {
  return typeof value === "string" && (TASK_STATUSES as readonly string[]).includes(value);
}

// ---- the gateway's own API (README.md: "Using it", "Errors") ----

export type Location = "local" | "cloud";
export type HealthStatus = "healthy" | "unhealthy" | "unknown";

export interface BackendLocation {
  type: string | null;
  region: string | null;
  health: { status: HealthStatus; checked_at: string | number | null; latency_ms: number | null };
}

export interface BackendInfo {
  id: string;
  name: string;
  locations: Partial<Record<Location, BackendLocation>>;
}

export interface BackendsListing {
  environment: string;
  backends: BackendInfo[];
}

/** Which backend and location answered, and how long it took (from the gateway's headers). */
export interface ServedBy {
  status: number;
  backend: string | null;
  location: string | null;
  upstreamMs: number | null;
  gatewayMs: number | null;
  requestId: string | null;
}

/** An error as a person can act on it: gateway or backend code, message, request id. */
export interface ApiError {
  status: number; // 0: the gateway could not be reached at all
  code: string;
  message: string;
  field?: string;
  requestId: string | null;
  backend: string | null;
}

export type ApiResult<T> =
  | { ok: true; data: T; served: ServedBy; nextOccurrenceId?: string }
  | { ok: false; error: ApiError; served: ServedBy };

/** What a Server Action hands back to the client. */
export type ActionResult<T = undefined> =
  | { ok: true; data: T; served: ServedBy; nextOccurrenceId?: string }
  | { ok: false; error: ApiError; served: ServedBy | null };

export interface Selection {
  backend: string | null;
  location: Location | null;
}
