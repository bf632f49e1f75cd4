/**
 * The one entry point both backends share: `createApp(...)` returns a
 * `(Request) => Promise<Response>` that Bun.serve and the Worker's fetch
 * call as is. Everything runtime-specific (opening the database, settings,
 * signals) stays in the backend folders.
 *
 *   const app = createApp({ store: new Store(driver), backendId: "bun-sqlite" });
 *   Bun.serve({ fetch: app });
 */
import { ApiError } from "./errors.ts";
import * as h from "./handlers.ts";
import type { Services } from "./handlers.ts";
import { empty, json } from "./http.ts";
import { Router } from "./router.ts";
import type { Store } from "./store.ts";

export { Store } from "./store.ts";
export type { SqlDriver, SqlStatement, SqlValue } from "./store.ts";

export interface AppOptions {
  store: Store;
  backendId: string;
  log?: Services["log"];
}

const router = new Router<Services>()
  .on("/health", { GET: h.health })
  .on("/tasks", { GET: h.listTasks, POST: h.createTask })
  .on("/tasks/:id", { GET: h.getTask, PATCH: h.updateTask, DELETE: h.deleteTask })
  .on("/projects", { GET: h.listProjects, POST: h.createProject })
  .on("/projects/:id", { GET: h.getProject, PATCH: h.updateProject, DELETE: h.deleteProject })
  .on("/counts", { GET: h.counts })
  .on("/export", { GET: h.exportAll })
  .on("/import", { POST: h.importAll });

/** One JSON line per log entry on stderr. */
export const jsonLog: Services["log"] = (level, message, extra = {}) => {
  console.error(JSON.stringify({ time: new Date().toISOString(), level, message, ...extra }));
};

export function createApp(options: AppOptions): (request: Request) => Promise<Response> {
  const services: Services = { log: jsonLog, ...options };

  return async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    let response: Response;
    try {
      const match = router.match(request.method, url.pathname);
      response =
        match.handler === "OPTIONS"
          ? empty(204, { allow: match.allow })
          : await match.handler({ request, url, params: match.params, services });
    } catch (err) {
      response = renderError(err, services, request, url);
    }
    // HEAD: same status and headers as GET, no body.
    return request.method === "HEAD"
      ? new Response(null, { status: response.status, headers: response.headers })
      : response;
  };
}

function renderError(err: unknown, services: Services, request: Request, url: URL): Response {
  if (err instanceof ApiError) {
    const error: Record<string, string> = { code: err.code, message: err.message };
    if (err.field !== undefined) error.field = err.field;
    return json(err.status, { error }, err.headers);
  }
  // Unexpected: log the details, show the client nothing internal.
  services.log("error", "unhandled error", {
    method: request.method,
    path: url.pathname,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return json(500, { error: { code: "internal_error", message: "internal server error" } });
}
