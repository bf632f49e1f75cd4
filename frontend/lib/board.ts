// Server-side data loading for a page: the sidebar's counts (one request), the projects (names
// for rows and pickers) and the gateway's backend listing. Lists are loaded page by page by the
// page itself (`listPage`): no page reads every task.
import "server-only";

import { gateway, getSelection } from "./gateway";
import { userToday } from "./today";
import type { ApiResult, BackendsListing, Counts, ListTasksQuery, ProjectList, Selection, Task, TaskList } from "./types";

/** Tasks per page of a list ("Show more" asks for the next one with the cursor). */
export const PAGE_SIZE = 50;

export interface Board {
  selection: Selection;
  /** The user's local date, sent as `today=` with every call. */
  today: string;
  backends: ApiResult<BackendsListing>;
  counts: ApiResult<Counts>;
  projects: ApiResult<ProjectList>;
}

export async function loadBoard(): Promise<Board> {
  const [selection, today] = await Promise.all([getSelection(), userToday()]);
  // Projects are few (an outcome with more than one step); one page of the largest size holds them.
  const [counts, projects] = await Promise.all([gateway.counts(today), gateway.listProjects({ today, limit: "500" })]);
  // After the data: the listing then shows the health check these requests just caused.
  const backends = await gateway.backends();
  return { selection, today, backends, counts, projects };
}

/** One page of a list (``query`` without today/limit, which are added here). */
export function listPage(query: ListTasksQuery, today: string, limit: number = PAGE_SIZE): Promise<ApiResult<TaskList>> {
  return gateway.listTasks({ ...query, today, limit: String(limit) });
}

/** The contexts on the tasks shown, one spelling each (the first seen, compared case-insensitively). */
export function contextsOf(tasks: readonly Task[]): string[] {
  const seen = new Map<string, string>();
  for (const task of tasks) if (task.context && !seen.has(task.context.toLowerCase())) seen.set(task.context.toLowerCase(), task.context);
  return [...seen.values()].sort((a, b) => a.localeCompare(b));
}

/**
 * Every existing context, one spelling each (compared case-insensitively): those of all open tasks
 * from the board's `GET /counts` (lists are paged, so a page alone knows few), then those on the
 * tasks shown (a done task's context is not counted). Of two spellings in the counts, the one more
 * open tasks use wins. The capture box suggests these and files `@word` under their spelling.
 */
export function knownContexts(board: Board, tasks: readonly Task[] = []): string[] {
  // A backend older than the `contexts` member answers counts without it: then the page's tasks only.
  const counted = board.counts.ok ? Object.entries(board.counts.data.contexts ?? {}) : [];
  counted.sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
  const seen = new Map<string, string>();
  for (const context of [...counted.map(([name]) => name), ...tasks.flatMap((task) => (task.context ? [task.context] : []))]) {
    if (!seen.has(context.toLowerCase())) seen.set(context.toLowerCase(), context);
  }
  return [...seen.values()].sort((a, b) => a.localeCompare(b));
}

export function projectNames(board: Board): { id: string; name: string }[] {
  return board.projects.ok ? board.projects.data.projects.map(({ id, name }) => ({ id, name })) : [];
}

/** The backend this page is about: the user's choice, else the one that answered, else the first listed. */
export function currentBackend(board: Board): string | null {
  return board.selection.backend ?? board.counts.served.backend ?? (board.backends.ok ? (board.backends.data.backends[0]?.id ?? null) : null);
}
