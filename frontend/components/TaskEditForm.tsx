"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useActionState, useState, useTransition } from "react";

import { deleteTask, saveTask } from "@/app/actions";
import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import type { ActionResult, ApiError, Task } from "@/lib/types";
import { STATUS_LABELS, TASK_STATUSES } from "@/lib/types";

function invalid(error: ApiError | null, field: string): boolean {
  return error?.field === field;
}

/** Edit every field of a task; a real <form> posting to a Server Action. */
export function TaskEditForm({ task, projects }: { task: Task; projects: { id: string; name: string }[] }) {
  const [result, action, saving] = useActionState<ActionResult<Task> | null, FormData>(saveTask, null);
  const [confirming, setConfirming] = useState(false);
  const [deleteError, setDeleteError] = useState<ApiError | null>(null);
  const [deleting, startDelete] = useTransition();
  const router = useRouter();
  const error = result && !result.ok ? result.error : null;
  const current = result?.ok ? result.data : task;
  const back = current.status === "inbox" ? "/" : `/lists/${current.status}`;

  return (
    <>
      <form action={action} className="edit-form" aria-describedby="edit-status">
        <input type="hidden" name="id" value={task.id} />
        <div className="field">
          <label htmlFor="title">Title</label>
          <input id="title" name="title" type="text" required maxLength={500} defaultValue={task.title} aria-invalid={invalid(error, "title") || undefined} />
        </div>
        <div className="field">
          <label htmlFor="notes">Notes</label>
          <textarea id="notes" name="notes" rows={4} maxLength={10000} defaultValue={task.notes ?? ""} aria-invalid={invalid(error, "notes") || undefined} />
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor="status">List</label>
            <select id="status" name="status" defaultValue={task.status}>
              {TASK_STATUSES.map((status) => (
                <option key={status} value={status}>
                  {STATUS_LABELS[status]}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="context">Context</label>
            <input
              id="context"
              name="context"
              type="text"
              placeholder="@home"
              pattern="@?\S{1,49}"
              title="@ and a word, e.g. @home"
              defaultValue={task.context ?? ""}
              aria-invalid={invalid(error, "context") || undefined}
              aria-describedby="context-help"
            />
            <small id="context-help" className="muted">
              e.g. @home, @phone; empty for none
            </small>
          </div>
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor="due_date">Due date</label>
            <input id="due_date" name="due_date" type="date" defaultValue={task.due_date ?? ""} aria-invalid={invalid(error, "due_date") || undefined} />
          </div>
          <div className="field">
            <label htmlFor="project_id">Project</label>
            <select id="project_id" name="project_id" defaultValue={task.project_id ?? ""} aria-invalid={invalid(error, "project_id") || undefined}>
              <option value="">No project</option>
              {projects.map((project) => (
                <option key={project.id} value={project.id}>
                  {project.name}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={saving}>
            {saving ? "Saving…" : "Save"}
          </button>
          <Link href={back} className="button">
            Back to {STATUS_LABELS[current.status]}
          </Link>
        </div>
        <div id="edit-status" aria-live="polite" className="notice">
          {result?.ok ? (
            <div className="notice-ok">
              <p>Saved.</p>
              <ServedLine served={result.served} />
            </div>
          ) : null}
          {error ? <ErrorPanel error={error} title="Could not save" autoRetry={false} /> : null}
        </div>
      </form>

      <section className="danger-zone" aria-label="Delete task">
        {confirming ? (
          <p>
            Delete “{current.title}” for good?{" "}
            <button
              type="button"
              className="button danger"
              disabled={deleting}
              onClick={() =>
                startDelete(async () => {
                  const outcome = await deleteTask(task.id);
                  if (outcome.ok) router.push(back);
                  else setDeleteError(outcome.error);
                })
              }
            >
              Yes, delete
            </button>{" "}
            <button type="button" className="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </p>
        ) : (
          <button type="button" className="button danger" onClick={() => setConfirming(true)}>
            Delete task…
          </button>
        )}
        {deleteError ? <ErrorPanel error={deleteError} title="Could not delete" autoRetry={false} /> : null}
      </section>
    </>
  );
}
