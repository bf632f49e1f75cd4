/** The GTD resources as they appear on the wire (contract v2). */
import type { Position } from "./paging.ts";

export const TASK_STATUSES = ["inbox", "next", "waiting", "scheduled", "someday", "done"] as const;
export const PROJECT_STATUSES = ["active", "someday", "done"] as const;
export const REPEAT_FROM = ["due", "completion"] as const;

export type TaskStatus = (typeof TASK_STATUSES)[number];
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export interface Repeat {
  /** An RRULE of the v2 subset, in canonical form (rrule.ts). */
  rule: string;
  from: (typeof REPEAT_FROM)[number];
}

export interface Task {
  id: string;
  title: string;
  notes: string | null;
  status: TaskStatus;
  project_id: string | null;
  context: string | null;
  due_date: string | null;
  defer_until: string | null;
  repeat: Repeat | null;
  /** Ids of the tasks blocking this one, ascending. */
  blocked_by: string[];
  /** Computed on read: open, and some blocker is open. */
  blocked: boolean;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface TaskCounts {
  open: number;
  done: number;
  next: number;
}

export interface Project {
  id: string;
  name: string;
  status: ProjectStatus;
  notes: string | null;
  reviewed_on: string | null;
  task_counts: TaskCounts;
  created_at: string;
  updated_at: string;
}

/** What GET /export holds per item: a served task without `blocked`, a project without `task_counts`. */
export type ExportTask = Omit<Task, "blocked">;
export type ExportProject = Omit<Project, "task_counts">;

/** Writable fields, already validated; absent keys mean "leave as is" (PATCH) or "default" (POST). */
export type TaskFields = Partial<
  Pick<
    Task,
    "title" | "notes" | "status" | "project_id" | "context" | "due_date" | "defer_until" | "repeat" | "blocked_by"
  >
>;
export type ProjectFields = Partial<Pick<Project, "name" | "status" | "notes" | "reviewed_on">>;

/** One page of a list: `limit` absent means the whole list; `cursor` is the decoded one. */
export interface Page {
  limit?: number;
  cursor?: Position;
}

export interface TaskFilter extends Page {
  status?: TaskStatus;
  project_id?: string;
  context?: string;
  deferred?: boolean;
  blocked?: boolean;
  available?: boolean;
  q?: string;
  today?: string;
}

export interface ProjectFilter extends Page {
  status?: ProjectStatus;
  today?: string;
}

export interface Counts {
  tasks: {
    inbox: number;
    next: number;
    waiting: number;
    scheduled: number;
    someday: number;
    done: number;
    deferred: number;
    blocked: number;
    available: number;
  };
  projects: { active: number; someday: number; done: number };
  /** Each context an open task has, spelled as stored, to the number of open tasks with it. */
  contexts: Record<string, number>;
}

export interface ImportTally {
  created: number;
  updated: number;
  unchanged: number;
}
