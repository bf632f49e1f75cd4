/** The GTD resources as they appear on the wire (and, column for column, in SQL). */

export const TASK_STATUSES = ["inbox", "next", "waiting", "scheduled", "someday", "done"] as const;
export const PROJECT_STATUSES = ["active", "someday", "done"] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export interface Task {
  id: string;
  title: string;
  notes: string | null;
  status: TaskStatus;
  project_id: string | null;
  context: string | null;
  due_date: string | null;
  created_at: string;
  updated_at: string;
}

export interface Project {
  id: string;
  name: string;
  status: ProjectStatus;
  notes: string | null;
  created_at: string;
  updated_at: string;
}

/** Writable fields, already validated; absent keys mean "leave as is" (PATCH) or "default" (POST). */
export type TaskFields = Partial<Omit<Task, "id" | "created_at" | "updated_at">>;
export type ProjectFields = Partial<Omit<Project, "id" | "created_at" | "updated_at">>;

export interface TaskFilter {
  status?: TaskStatus;
  project_id?: string;
  context?: string;
}

export interface ProjectFilter {
  status?: ProjectStatus;
}
