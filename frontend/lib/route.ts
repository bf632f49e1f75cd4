// Helpers for the app's own JSON routes (export/import): the gateway's error shape, and a
// same-origin check so another site cannot make a visitor's browser import into a backend.
import "server-only";

import type { ApiError } from "./types";

export function errorResponse(error: ApiError, status?: number): Response {
  const body: { error: { code: string; message: string; field?: string; request_id?: string } } = {
    error: { code: error.code, message: error.message },
  };
  if (error.field) body.error.field = error.field;
  if (error.requestId) body.error.request_id = error.requestId;
  return Response.json(body, { status: status ?? (error.status || 502), headers: { "cache-control": "no-store" } });
}

export function refused(status: number, code: string, message: string, field?: string): Response {
  return errorResponse({ status, code, message, field, requestId: null, backend: null });
}

/** A POST from a page of this app: JSON, and (when the browser says) from this origin. */
export function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
