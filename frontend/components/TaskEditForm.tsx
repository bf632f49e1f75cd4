"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useActionState, useState, useTransition } from "react";

import { deleteTask, saveTask } from "@/app/actions";
import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import { FREQS, WEEKDAYS, WEEKDAY_NAMES, describeRepeat, parseRule, type Freq } from "@/lib/repeat";
import type { ActionResult, ApiError, Task } from "@/lib/types";
import { STATUS_LABELS, TASK_STATUSES } from "@/lib/types";

function invalid(error: ApiError | null, field: string): boolean {
  return error?.field === field;
}

/** Edit every field of a task; a real <form> posting to a Server Action. */
const FREQ_LABELS: Record<Freq, string> = { DAILY: "Days", WEEKLY: "Weeks", MONTHLY: "Months", YEARLY: "Years" };

export function TaskEditForm({
  task,
  projects,
  contexts,
  candidates,
}: {
  task: Task;
  projects: { id: string; name: string }[];
  /** Existing contexts, one spelling each (suggested in the context field). */
  contexts: string[];
  /** Tasks this one may be blocked by (open ones of the backend, and its current blockers). */
  candidates: { id: string; title: string }[];
}) {
  const rule = task.repeat ? parseRule(task.repeat.rule) : null;
  const [freq, setFreq] = useState<Freq | "">(rule?.freq ?? "");
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
              list="known-contexts"
              aria-invalid={invalid(error, "context") || undefined}
              aria-describedby="context-help"
            />
            <small id="context-help" className="muted">
              e.g. @home, @phone; empty for none
            </small>
            <datalist id="known-contexts">
              {contexts.map((context) => (
                <option key={context} value={context} />
              ))}
            </datalist>
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
        <div className="field-row">
          <div className="field">
            <label htmlFor="defer_until">Defer until</label>
            <input
              id="defer_until"
              name="defer_until"
              type="date"
              defaultValue={task.defer_until ?? ""}
              aria-invalid={invalid(error, "defer_until") || undefined}
              aria-describedby="defer-help"
            />
            <small id="defer-help" className="muted">
              Hidden in its list (kept in the Tickler) until that day
            </small>
          </div>
          <div className="field">
            <label htmlFor="blocked_by">Blocked by</label>
            <input type="hidden" name="blocked_by_present" value="1" />
            <select
              id="blocked_by"
              name="blocked_by"
              multiple
              size={Math.min(6, Math.max(3, candidates.length))}
              defaultValue={task.blocked_by}
              aria-invalid={invalid(error, "blocked_by") || undefined}
              aria-describedby="blocked-help"
            >
              {candidates.map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.title}
                </option>
              ))}
            </select>
            <small id="blocked-help" className="muted">
              {task.blocked ? "Blocked now: waits for the selected tasks. " : ""}Ctrl/⌘-click to pick several; none selected: not blocked
            </small>
          </div>
        </div>
        <fieldset className="repeat">
          <legend>Repeat</legend>
          <div className="repeat-row">
            <label htmlFor="repeat_interval">Every</label>
            <input id="repeat_interval" name="repeat_interval" type="number" min={1} max={365} defaultValue={rule?.interval ?? 1} disabled={freq === ""} className="narrow" />
            <label htmlFor="repeat_freq" className="sr-only">
              Repeat unit
            </label>
            <select id="repeat_freq" name="repeat_freq" value={freq} aria-invalid={invalid(error, "repeat") || undefined} onChange={(event) => setFreq(event.target.value as Freq | "")}>
              <option value="">Does not repeat</option>
              {FREQS.map((value) => (
                <option key={value} value={value}>
                  {FREQ_LABELS[value]}
                </option>
              ))}
            </select>
          </div>
          {freq === "WEEKLY" ? (
            <div className="repeat-row" role="group" aria-label="On weekdays">
              {WEEKDAYS.map((day) => (
                <label key={day} className="day">
                  <input type="checkbox" name="repeat_byday" value={day} defaultChecked={rule?.byday.includes(day) ?? false} /> {WEEKDAY_NAMES[day]}
                </label>
              ))}
            </div>
          ) : null}
          {freq === "MONTHLY" ? (
            <div className="repeat-row">
              <label htmlFor="repeat_bymonthday">On day</label>
              <input id="repeat_bymonthday" name="repeat_bymonthday" type="number" min={1} max={31} defaultValue={rule?.bymonthday ?? ""} className="narrow" />
              <small className="muted">(empty: the due date&apos;s day; 31 means the month&apos;s last day when shorter)</small>
            </div>
          ) : null}
          {freq !== "" ? (
            <div className="repeat-row" role="radiogroup" aria-label="Next date counted from">
              <label>
                <input type="radio" name="repeat_from" value="due" defaultChecked={task.repeat?.from !== "completion"} /> from the due date
              </label>
              <label>
                <input type="radio" name="repeat_from" value="completion" defaultChecked={task.repeat?.from === "completion"} /> from completion
              </label>
            </div>
          ) : null}
          {current.repeat ? (
            <p className="muted" data-testid="repeat-summary">
              Repeats {describeRepeat(current.repeat)}
            </p>
          ) : null}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={saving}>
            {saving ? "Saving…" : "Save"}
          </button>
          <Link prefetch={false} href={back} className="button">
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
