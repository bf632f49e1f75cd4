// Server-side data loading for a page: the gateway's backend listing and the
// selected backend's tasks and projects, fetched in parallel.
import "server-only";

import { gateway, getSelection } from "./gateway";
import type { ApiResult, BackendsListing, ProjectList, Selection, Task, TaskList, TaskStatus } from "./types";
import { TASK_STATUSES } from "./types";

export interface Board {
  selection: Selection;
  backends: ApiResult<BackendsListing>;
  tasks: ApiResult<TaskList>;
  projects: ApiResult<ProjectList>;
}

export async function loadBoard(): Promise<Board> {
  const selection = await getSelection();
  const [tasks, projects] = await Promise.all([gateway.listTasks(), gateway.listProjects()]);
  // After the data: the listing then shows the health check these requests just caused.
  const backends = await gateway.backends();
  return { selection, backends, tasks, projects };
}

export function countByStatus(tasks: readonly Task[]): Record<TaskStatus, number> {
  const counts = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0])) as Record<TaskStatus, number>;
  for (const task of tasks) counts[task.status] += 1;
  return counts;
}

export function contextsOf(tasks: readonly Task[]): string[] {
  const set = new Set<string>();
  for (const task of tasks) if (task.context) set.add(task.context);
  return [...set].sort((a, b) => a.localeCompare(b));
}

/** The backend this page is about: the user's choice, else the one that answered, else the first listed. */
export function currentBackend(board: Board): string | null {
  return board.selection.backend ?? board.tasks.served.backend ?? (board.backends.ok ? (board.backends.data.backends[0]?.id ?? null) : null);
}
