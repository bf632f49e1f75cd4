// Pure helpers shared by server and client components.
import type { ApiError, ServedBy } from "./types";

export function formatMs(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null;
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** "bun-sqlite · local · upstream 3.1 ms · gateway 4.0 ms" (parts the gateway did not send are left out). */
export function describeServed(served: ServedBy): string {
  const parts: string[] = [];
  if (served.backend) parts.push(served.backend);
  if (served.location) parts.push(served.location);
  const upstream = formatMs(served.upstreamMs);
  if (upstream) parts.push(`upstream ${upstream}`);
  const gateway = formatMs(served.gatewayMs);
  if (gateway) parts.push(`gateway ${gateway}`);
  return parts.join(" · ");
}

/** A one-line headline for an error, e.g. "Backend cf-d1 is unhealthy (503 backend_unhealthy)". */
export function describeError(error: ApiError): string {
  const status = error.status ? `${error.status} ` : "";
  return `${error.message} (${status}${error.code})`;
}

/** What a person can do about it. */
export function errorHint(error: ApiError): string {
  switch (error.code) {
    case "backend_unhealthy":
    case "backend_unavailable":
    case "upstream_timeout":
    case "bad_gateway":
      return "This backend is not answering. Pick another backend above, or wait: this page checks again by itself.";
    case "unknown_backend":
    case "invalid_backend":
      return "The backend you picked is no longer offered. Pick another backend above.";
    case "location_unavailable":
    case "invalid_location":
      return "This backend has no entry at that location. Pick another location above.";
    case "unauthorized":
      return "The frontend's API key is missing or wrong (server setting API_KEY).";
    case "rate_limited":
      return "Too many requests; the page will try again shortly.";
    case "gateway_unreachable":
    case "gateway_timeout":
      return "The gateway itself is not reachable. This page checks again by itself.";
    case "validation_error":
      return error.field ? `Check the field “${error.field}”.` : "Check what you entered.";
    case "not_found":
      return "It may have been deleted, or it lives on another backend.";
    default:
      return "Try again; if it keeps happening, quote the request id.";
  }
}

/** Errors that may go away by themselves, so the page retries on its own. */
export function isTransient(error: ApiError): boolean {
  return error.status === 0 || error.status >= 500 || error.status === 429;
}

export function isOverdue(dueDate: string | null, today: string): boolean {
  return dueDate !== null && dueDate < today;
}
