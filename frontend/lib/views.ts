// The lists the app shows and the query each one sends (shared by server pages and the
// client's "Show more"). Open lists hide deferred tasks; "Next" shows what can be done now.
import type { ListTasksQuery, TaskStatus } from "./types";
import { STATUS_LABELS } from "./types";

export type View = TaskStatus | "tickler" | "blocked";

export const EXTRA_VIEWS = ["tickler", "blocked"] as const;

export const VIEW_LABELS: Record<View, string> = { ...STATUS_LABELS, tickler: "Tickler", blocked: "Blocked" };

export function viewQuery(view: View): ListTasksQuery {
  switch (view) {
    case "done":
      return { status: "done" };
    case "next":
      return { status: "next", available: "true" };
    case "tickler":
      return { deferred: "true" };
    case "blocked":
      return { blocked: "true" };
    default:
      return { status: view, deferred: "false" };
  }
}

export function viewHref(view: View, params: { context?: string | null; q?: string | null } = {}): string {
  const base = view === "inbox" ? "/" : view === "tickler" || view === "blocked" ? `/${view}` : `/lists/${view}`;
  const search = new URLSearchParams();
  if (params.context) search.set("context", params.context);
  if (params.q) search.set("q", params.q);
  const text = search.toString();
  return text ? `${base}?${text}` : base;
}

/** The query keys a client may send back to "Show more" (anything else is refused). */
export const QUERY_KEYS = ["status", "project_id", "context", "deferred", "blocked", "available", "q"] as const;
