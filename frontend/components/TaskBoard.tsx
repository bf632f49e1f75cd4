"use client";

import Link from "next/link";
import { Suspense, lazy, useEffect, useOptimistic, useRef, useState, useTransition, type FormEvent, type ReactNode } from "react";

import { createTask, deleteTask, moveTask } from "@/app/actions";
import type { Notice } from "@/components/ActionNotice";
import { isOverdue } from "@/lib/format";
import { capture as keep, isWaiting, onSettled, useOutbox } from "@/lib/outbox";
import type { ActionResult, Task, TaskCreate, TaskStatus } from "@/lib/types";
import { STATUS_LABELS, TASK_STATUSES } from "@/lib/types";

// Only needed once an action has finished: loaded then, not with the page.
const ActionNotice = lazy(() => import("@/components/ActionNotice"));

type Item = Task & { pending?: boolean };
type Change = { type: "add"; task: Item } | { type: "remove"; id: string } | { type: "update"; id: string; status: TaskStatus };

export interface TaskBoardProps {
  tasks: Task[];
  projects: { id: string; name: string }[];
  /** A status list shows one status; a project shows all of its tasks. */
  view: TaskStatus | "project";
  listLabel: string;
  emptyText: string;
  today: string;
  capture?: { label: string; placeholder: string; defaults: Omit<TaskCreate, "title"> };
  /** The backend and location this page shows: captures are kept for them (null: the gateway's default). */
  backend: string | null;
  location: string | null;
  /** Rendered between the capture box and the list: the list's load error (the board stays usable). */
  alert?: ReactNode;
}

export function TaskBoard({ tasks, projects, view, listLabel, emptyText, today, capture, backend, location, alert }: TaskBoardProps) {
  const [items, change] = useOptimistic<Item[], Change>(tasks, (state, action) => {
    switch (action.type) {
      case "add":
        return [action.task, ...state];
      case "remove":
        return state.filter((task) => task.id !== action.id);
      case "update":
        if (view !== "project" && action.status !== view) return state.filter((task) => task.id !== action.id);
        return state.map((task) => (task.id === action.id ? { ...task, status: action.status, pending: true } : task));
    }
  });
  const [, startTransition] = useTransition();
  const [notice, setNotice] = useState<Notice | null>(null);
  const captureRef = useRef<HTMLInputElement>(null);
  const projectNames = new Map(projects.map((project) => [project.id, project.name]));
  // Captures not yet delivered to this board's backend that belong in this list, shown on top.
  const outbox = useOutbox();
  const queued = capture
    ? outbox.filter(
        (item) =>
          (item.backend ?? "") === (backend ?? "") &&
          (view === "project" ? item.body.project_id === capture.defaults.project_id : (item.body.status ?? "inbox") === view),
      )
    : [];

  // A capture left the outbox: say so; if a backend refused it for good (a 4xx), give its text back.
  const canCapture = capture !== undefined;
  useEffect(() => {
    if (!canCapture) return;
    return onSettled((item, result) => {
      const title = item.body.title;
      if (result.ok) {
        setNotice({ kind: "ok", text: `Captured “${title}”`, served: result.served });
        return;
      }
      setNotice({ kind: "error", title: `Could not capture “${title}”`, error: result.error });
      const input = captureRef.current;
      if (input && !input.value) input.value = title;
    });
  }, [canCapture]);

  function report<T>(result: ActionResult<T>, ok: string, failed: string, undo?: Task) {
    if (!result.ok) setNotice({ kind: "error", title: failed, error: result.error });
    else if (undo) setNotice({ kind: "undo", text: ok, task: undo, served: result.served });
    else setNotice({ kind: "ok", text: ok, served: result.served });
  }

  function onCapture(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const input = captureRef.current;
    if (!input || !capture) return;
    const title = input.value.trim();
    if (!title) {
      input.focus();
      return;
    }
    input.value = "";
    setNotice(null);
    // Into the outbox (IndexedDB) first; it sends, retries and shows it until a backend has it.
    void keep({ ...capture.defaults, title }, backend, location);
  }

  function onMove(task: Task, status: TaskStatus) {
    if (status === task.status) return;
    startTransition(async () => {
      change({ type: "update", id: task.id, status });
      const result = await moveTask(task.id, status);
      report(result, status === "done" ? `Completed “${task.title}”` : `Moved “${task.title}” to ${STATUS_LABELS[status]}`, `Could not move “${task.title}”`);
    });
  }

  function onDelete(task: Task) {
    startTransition(async () => {
      change({ type: "remove", id: task.id });
      const result = await deleteTask(task.id);
      report(result, `Deleted “${task.title}”.`, `Could not delete “${task.title}”`, task);
    });
  }

  function onUndo(task: Task) {
    setNotice(null);
    startTransition(async () => {
      const restored: Item = { ...task, pending: true };
      change({ type: "add", task: restored });
      const result = await createTask({
        title: task.title,
        notes: task.notes,
        status: task.status,
        context: task.context,
        due_date: task.due_date,
        project_id: task.project_id,
      });
      report(result, `Restored “${task.title}”`, `Could not restore “${task.title}”`);
    });
  }

  return (
    <div className="board">
      {capture ? (
        <form className="capture" onSubmit={onCapture}>
          <label htmlFor="capture-title" className="capture-label">
            {capture.label}
          </label>
          <div className="capture-row">
            <input
              ref={captureRef}
              id="capture-title"
              name="title"
              type="text"
              autoComplete="off"
              maxLength={500}
              placeholder={capture.placeholder}
              enterKeyHint="done"
            />
            <button type="submit" className="button primary">
              Add
            </button>
          </div>
        </form>
      ) : null}

      {alert}

      <div className="notice" aria-live="polite" data-testid="notice">
        {notice ? (
          <Suspense fallback={null}>
            <ActionNotice notice={notice} onUndo={onUndo} />
          </Suspense>
        ) : null}
      </div>

      {items.length === 0 && queued.length === 0 ? (
        <p className="empty" data-testid="empty">
          {emptyText}
        </p>
      ) : (
        <ul className="tasks" aria-label={listLabel} data-testid="task-list">
          {queued.map((item) => {
            const waiting = isWaiting(item);
            return (
              <li
                key={item.key}
                className={`task pending${waiting ? " queued" : ""}`}
                data-pending="true"
                data-queued={waiting ? "true" : "false"}
                data-backend={item.backend ?? ""}
                data-title={item.body.title}
              >
                <div className="task-main">
                  <span className="check check-queued" aria-hidden="true">
                    {waiting ? "↻" : ""}
                  </span>
                  <div className="task-body">
                    <span className="task-title">{item.body.title}</span>
                    {waiting ? (
                      <div className="task-meta">
                        <span className="badge waiting-for">waiting for {item.backend ?? "the default backend"}</span>
                      </div>
                    ) : null}
                  </div>
                </div>
              </li>
            );
          })}
          {items.map((task) => {
            const overdue = task.status !== "done" && isOverdue(task.due_date, today);
            const project = task.project_id ? projectNames.get(task.project_id) : null;
            return (
              <li key={task.id} className={`task${task.pending ? " pending" : ""}${task.status === "done" ? " is-done" : ""}`} data-task-id={task.id} data-pending={task.pending ? "true" : "false"} data-title={task.title}>
                <div className="task-main">
                  <button
                    type="button"
                    className="check"
                    disabled={task.pending}
                    aria-label={task.status === "done" ? `Reopen “${task.title}”` : `Complete “${task.title}”`}
                    onClick={() => onMove(task, task.status === "done" ? "next" : "done")}
                  >
                    <span aria-hidden="true">{task.status === "done" ? "↺" : "✓"}</span>
                  </button>
                  <div className="task-body">
                    {task.pending ? (
                      <span className="task-title">{task.title}</span>
                    ) : (
                      <Link href={`/tasks/${task.id}`} className="task-title">
                        {task.title}
                      </Link>
                    )}
                    <div className="task-meta">
                      {view === "project" ? <span className={`badge status-${task.status}`}>{STATUS_LABELS[task.status]}</span> : null}
                      {task.context ? <span className="badge context">{task.context}</span> : null}
                      {project && task.project_id ? (
                        <Link className="badge project" href={`/projects/${task.project_id}`}>
                          {project}
                        </Link>
                      ) : null}
                      {task.due_date ? (
                        <span className={`badge due${overdue ? " overdue" : ""}`} data-overdue={overdue ? "true" : "false"}>
                          {overdue ? "Overdue · " : "Due "}
                          <time dateTime={task.due_date}>{task.due_date}</time>
                        </span>
                      ) : null}
                    </div>
                    {task.notes ? <p className="task-notes">{task.notes}</p> : null}
                  </div>
                </div>
                {task.pending ? null : (
                  <div className="task-actions">
                    <form
                      className="move"
                      onSubmit={(event) => {
                        event.preventDefault();
                        const status = new FormData(event.currentTarget).get("status");
                        if (typeof status === "string") onMove(task, status as TaskStatus);
                      }}
                    >
                      <label className="sr-only" htmlFor={`move-${task.id}`}>
                        Move “{task.title}” to
                      </label>
                      <select id={`move-${task.id}`} name="status" defaultValue={task.status}>
                        {TASK_STATUSES.map((status) => (
                          <option key={status} value={status}>
                            {STATUS_LABELS[status]}
                          </option>
                        ))}
                      </select>
                      <button type="submit" className="button small">
                        Move
                      </button>
                    </form>
                    <button type="button" className="button small danger" onClick={() => onDelete(task)} aria-label={`Delete “${task.title}”`}>
                      Delete
                    </button>
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
