"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { Suspense, lazy, useEffect, useOptimistic, useRef, useState, useTransition, type FormEvent, type ReactNode } from "react";

import { deleteTask, moreTasks, moveTask, restoreTask, undoMove } from "@/app/actions";
import type { Notice, Undo } from "@/components/ActionNotice";
import { parseCapture } from "@/lib/capture";
import { isOverdue } from "@/lib/format";
import { capture as keep, isWaiting, onSettled, useOutbox } from "@/lib/outbox";
import { describeRepeat } from "@/lib/repeat";
import type { ActionResult, ListTasksQuery, Task, TaskCreate, TaskStatus } from "@/lib/types";
import { STATUS_LABELS, TASK_STATUSES } from "@/lib/types";
import type { View } from "@/lib/views";

// Only needed once an action has finished: loaded then, not with the page.
const ActionNotice = lazy(() => import("@/components/ActionNotice"));

type Item = Task & { pending?: boolean };
type Change = { type: "add"; task: Item } | { type: "remove"; id: string } | { type: "update"; id: string; status: TaskStatus };

/** `1`–`5` file the selected task to these lists. */
const FILE_KEYS: Record<string, TaskStatus> = { "1": "inbox", "2": "next", "3": "waiting", "4": "scheduled", "5": "someday" };

export interface TaskBoardProps {
  /** The first page of the list, and the cursor of the next one (null: nothing more). */
  tasks: Task[];
  nextCursor: string | null;
  /** The list's filters, sent again with the cursor by "Show more". */
  query: ListTasksQuery;
  projects: { id: string; name: string }[];
  /** Existing contexts, one spelling each (`knownContexts`): the capture box suggests them and uses their spelling. */
  contexts: string[];
  /** A list view shows one status (or the tickler/blocked tasks); a project shows all of its tasks. */
  view: View | "project";
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

/** Whether a task with ``status`` still belongs in ``view`` (a move out of it removes the row). */
function belongs(view: View | "project", status: TaskStatus): boolean {
  if (view === "project" || view === "tickler" || view === "blocked") return true;
  return status === view;
}

function typing(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest("input, textarea, select, [contenteditable='true']") !== null;
}

export function TaskBoard({ tasks, nextCursor, query, projects, contexts, view, listLabel, emptyText, today, capture, backend, location, alert }: TaskBoardProps) {
  // Later pages ("Show more") live here; the first page comes from the server and is re-rendered after each action.
  const [more, setMore] = useState<Task[]>([]);
  const [cursor, setCursor] = useState<string | null>(nextCursor);
  const [firstPage, setFirstPage] = useState(tasks);
  // Ids the user moved out of this list or deleted (so a loaded page does not bring them back).
  const [gone, setGone] = useState<ReadonlySet<string>>(() => new Set());
  if (firstPage !== tasks) {
    // A re-render after an action: tasks pushed off the first page by a newer one move to the
    // loaded pages instead of vanishing; without loaded pages the server's cursor is the one to use.
    setFirstPage(tasks);
    if (more.length) {
      const ids = new Set(tasks.map((task) => task.id));
      const carried = firstPage.filter((task) => !ids.has(task.id) && !gone.has(task.id));
      if (carried.length) setMore([...carried, ...more]);
    } else setCursor(nextCursor);
  }
  const firstIds = new Set(tasks.map((task) => task.id));
  const base = [...tasks, ...more.filter((task) => !firstIds.has(task.id) && !gone.has(task.id))];

  const [items, change] = useOptimistic<Item[], Change>(base, (state, action) => {
    switch (action.type) {
      case "add":
        return [action.task, ...state.filter((task) => task.id !== action.task.id)];
      case "remove":
        return state.filter((task) => task.id !== action.id);
      case "update":
        if (!belongs(view, action.status)) return state.filter((task) => task.id !== action.id);
        return state.map((task) => (task.id === action.id ? { ...task, status: action.status, pending: true } : task));
    }
  });
  const [, startTransition] = useTransition();
  const [loadingMore, startMore] = useTransition();
  const [notice, setNotice] = useState<Notice | null>(null);
  const [help, setHelp] = useState(false);
  // What the capture syntax did not understand (kept apart from the notice, which the send overwrites).
  const [hint, setHint] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  // The `@word` being typed in the capture box (where it starts), for the context suggestions.
  const [typed, setTyped] = useState<{ word: string; start: number } | null>(null);
  const selectedIndex = useRef(0);
  const captureRef = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLUListElement>(null);
  const router = useRouter();
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

  // Focus stays on the list: when the selected row goes (completed, filed, deleted), the row now
  // at its place is selected and focused (unless the user is somewhere else, e.g. in a field).
  useEffect(() => {
    if (selected === null) return;
    const index = items.findIndex((task) => task.id === selected);
    if (index >= 0) {
      selectedIndex.current = index;
      const active = document.activeElement;
      const row = listRef.current?.querySelector<HTMLElement>(`li[data-task-id="${selected}"]`);
      if (row && (active === document.body || active === null || (active instanceof HTMLElement && active.matches("li.task") && active !== row))) row.focus();
      return;
    }
    const next = items[Math.min(selectedIndex.current, items.length - 1)];
    setSelected(next ? next.id : null);
  }, [items, selected]);

  function keepLoaded(update: (loaded: Task[]) => Task[]) {
    setMore((loaded) => update(loaded));
  }

  function onMove(task: Task, status: TaskStatus) {
    if (status === task.status) return;
    // The row acted on is the selection: when it leaves the list, focus goes to the row now in its place.
    setSelected(task.id);
    startTransition(async () => {
      change({ type: "update", id: task.id, status });
      const result = await moveTask(task.id, status);
      if (!result.ok) {
        setNotice({ kind: "error", title: `Could not move “${task.title}”`, error: result.error });
        return;
      }
      if (belongs(view, status)) keepLoaded((loaded) => loaded.map((item) => (item.id === task.id ? result.data : item)));
      else setGone((ids) => new Set(ids).add(task.id));
      const occurrence = result.nextOccurrenceId ?? null;
      setNotice({
        kind: "undo",
        text: status === "done" ? `Completed “${task.title}”.` : `Moved “${task.title}” to ${STATUS_LABELS[status]}.`,
        undo: { type: "move", task, previous: task.status, occurrenceId: occurrence },
        served: result.served,
        link: occurrence ? { href: `/tasks/${occurrence}`, text: "Next occurrence" } : undefined,
      });
    });
  }

  function onDelete(task: Task) {
    setSelected(task.id);
    startTransition(async () => {
      change({ type: "remove", id: task.id });
      const result = await deleteTask(task.id);
      if (!result.ok) {
        setNotice({ kind: "error", title: `Could not delete “${task.title}”`, error: result.error });
        return;
      }
      setGone((ids) => new Set(ids).add(task.id));
      setNotice({ kind: "undo", text: `Deleted “${task.title}”.`, undo: { type: "delete", task }, served: result.served });
    });
  }

  function onUndo(undo: Undo) {
    setNotice(null);
    const { task } = undo;
    startTransition(async () => {
      change({ type: "add", task: { ...task, pending: true } });
      const result: ActionResult<Task> = undo.type === "delete" ? await restoreTask(task) : await undoMove(task.id, undo.previous, undo.occurrenceId);
      if (!result.ok) {
        setNotice({ kind: "error", title: `Could not restore “${task.title}”`, error: result.error });
        return;
      }
      setGone((ids) => {
        const next = new Set(ids);
        next.delete(task.id);
        return next;
      });
      if (!firstIds.has(task.id)) keepLoaded((loaded) => [...loaded.filter((item) => item.id !== task.id), result.data].sort((a, b) => b.created_at.localeCompare(a.created_at)));
      setNotice({ kind: "ok", text: `Restored “${task.title}”`, served: result.served });
    });
  }

  function onMore() {
    if (!cursor) return;
    startMore(async () => {
      const result = await moreTasks(query, cursor);
      if (!result.ok) {
        setNotice({ kind: "error", title: "Could not load more", error: result.error });
        return;
      }
      setMore((loaded) => [...loaded, ...result.data.tasks]);
      setCursor(result.data.next_cursor);
    });
  }

  // Existing contexts that complete the `@word` at the caret (from the page's data: no request per keystroke).
  const suggestions = typed
    ? contexts.filter((context) => context !== typed.word && context.toLowerCase().startsWith(typed.word.toLowerCase())).slice(0, 8)
    : [];

  function onCaptureInput() {
    const input = captureRef.current;
    if (!input) return;
    const before = input.value.slice(0, input.selectionStart ?? input.value.length);
    // The word before the caret, when it starts with @ (at the start or after a space).
    const word = /(?:^|\s)(@\S*)$/.exec(before)?.[1];
    setTyped(word === undefined ? null : { word, start: before.length - word.length });
  }

  /** Replace the `@word` being typed by ``context`` (and a space), the caret after it. */
  function completeContext(context: string) {
    const input = captureRef.current;
    if (!input || !typed) return;
    const rest = input.value.slice(typed.start).replace(/^\S*\s?/, "");
    const head = `${input.value.slice(0, typed.start)}${context} `;
    input.value = head + rest;
    input.focus();
    input.setSelectionRange(head.length, head.length);
    setTyped(null);
  }

  function onCapture(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const input = captureRef.current;
    if (!input || !capture) return;
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    const { body, unknownProject } = parseCapture(text, projects, contexts, capture.defaults);
    if (!body.title) {
      setHint("Add a title: the words that are not @context, +project, due: or defer:.");
      return;
    }
    input.value = "";
    setTyped(null);
    setNotice(null);
    setHint(unknownProject ? `No project named “${unknownProject}”: “+${unknownProject}” stays in the title.` : null);
    // Into the outbox (IndexedDB) first; it sends, retries and shows it until a backend has it.
    void keep(body, backend, location);
  }

  // Keyboard: n capture, j/k move, x complete, e edit, 1–5 file, ? the keys.
  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
      if (typing(event.target)) {
        if (event.key === "Escape" && event.target === captureRef.current) captureRef.current?.blur();
        return;
      }
      const index = items.findIndex((task) => task.id === selected);
      const current = index >= 0 ? items[index] : null;
      const focusRow = (task: Item | undefined) => {
        if (!task) return;
        setSelected(task.id);
        listRef.current?.querySelector<HTMLElement>(`li[data-task-id="${task.id}"]`)?.focus();
      };
      switch (event.key) {
        case "n":
          if (!captureRef.current) return;
          captureRef.current.focus();
          break;
        case "j":
          focusRow(items[Math.min(index + 1, items.length - 1)]);
          break;
        case "k":
          focusRow(items[Math.max(index - 1, 0)]);
          break;
        case "x":
          if (!current || current.pending) return;
          onMove(current, current.status === "done" ? "next" : "done");
          break;
        case "e":
          if (!current || current.pending) return;
          router.push(`/tasks/${current.id}`);
          break;
        case "?":
          setHelp((open) => !open);
          break;
        case "Escape":
          setHelp(false);
          break;
        default: {
          const status = FILE_KEYS[event.key];
          if (!status || !current || current.pending) return;
          onMove(current, status);
        }
      }
      event.preventDefault();
    }
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  });

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
              maxLength={600}
              placeholder={capture.placeholder}
              enterKeyHint="done"
              aria-describedby="capture-syntax"
              onInput={onCaptureInput}
              onSelect={onCaptureInput}
              onKeyDown={(event) => {
                // Tab takes the first suggestion while one shows (Shift+Tab and no suggestion: normal focus moves).
                const first = suggestions[0];
                if (event.key === "Tab" && !event.shiftKey && first !== undefined) {
                  event.preventDefault();
                  completeContext(first);
                }
              }}
              // Keyboard-first: the box is where typing goes on load (and on `n`).
              autoFocus
            />
            <button type="submit" className="button primary">
              Add
            </button>
          </div>
          {suggestions.length > 0 ? (
            <ul className="context-suggestions" aria-label="Existing contexts" data-testid="context-suggestions">
              {suggestions.map((context) => (
                <li key={context}>
                  {/* mousedown would move focus out of the box (and the caret with it) before the click */}
                  <button type="button" className="chip" data-context={context} onMouseDown={(event) => event.preventDefault()} onClick={() => completeContext(context)}>
                    {context}
                  </button>
                </li>
              ))}
            </ul>
          ) : null}
          <p id="capture-syntax" className="capture-help muted">
            <code>@context</code> <code>+project</code> <code>due:YYYY-MM-DD</code> <code>defer:YYYY-MM-DD</code> · <kbd>Tab</kbd> takes a suggested context · press <kbd>?</kbd> for keys
          </p>
          <p className="capture-hint" role="status" data-testid="capture-hint">
            {hint}
          </p>
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

      {help ? (
        <section className="keys" aria-label="Keyboard shortcuts" data-testid="keys">
          <h2>Keys</h2>
          <dl>
            <dt>
              <kbd>n</kbd>
            </dt>
            <dd>capture</dd>
            <dt>
              <kbd>j</kbd> / <kbd>k</kbd>
            </dt>
            <dd>next / previous task</dd>
            <dt>
              <kbd>x</kbd>
            </dt>
            <dd>complete</dd>
            <dt>
              <kbd>e</kbd>
            </dt>
            <dd>edit</dd>
            <dt>
              <kbd>1</kbd>–<kbd>5</kbd>
            </dt>
            <dd>file to Inbox, Next, Waiting, Scheduled, Someday</dd>
            <dt>
              <kbd>?</kbd>
            </dt>
            <dd>show or hide these keys</dd>
          </dl>
          <button type="button" className="button small" onClick={() => setHelp(false)}>
            Close
          </button>
        </section>
      ) : null}

      {items.length === 0 && queued.length === 0 ? (
        <p className="empty" data-testid="empty">
          {emptyText}
        </p>
      ) : (
        <ul className="tasks" aria-label={listLabel} data-testid="task-list" ref={listRef}>
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
            const deferred = task.status !== "done" && task.defer_until !== null && task.defer_until > today;
            const project = task.project_id ? projectNames.get(task.project_id) : null;
            const isSelected = task.id === selected;
            return (
              <li
                key={task.id}
                className={`task${task.pending ? " pending" : ""}${task.status === "done" ? " is-done" : ""}${isSelected ? " selected" : ""}`}
                data-task-id={task.id}
                data-pending={task.pending ? "true" : "false"}
                data-title={task.title}
                data-selected={isSelected ? "true" : "false"}
                tabIndex={isSelected ? 0 : -1}
                // Only the row itself (j/k, Tab): a state change on a link's mousedown re-renders the
                // row between mousedown and mouseup, and the browser suite saw such clicks lost.
                onFocus={(event) => {
                  if (event.target === event.currentTarget) setSelected(task.id);
                }}
              >
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
                      <Link prefetch={false} href={`/tasks/${task.id}`} className="task-title">
                        {task.title}
                      </Link>
                    )}
                    <div className="task-meta">
                      {view === "project" || view === "tickler" || view === "blocked" ? <span className={`badge status-${task.status}`}>{STATUS_LABELS[task.status]}</span> : null}
                      {task.context ? <span className="badge context">{task.context}</span> : null}
                      {project && task.project_id ? (
                        <Link prefetch={false} className="badge project" href={`/projects/${task.project_id}`}>
                          {project}
                        </Link>
                      ) : null}
                      {task.due_date ? (
                        <span className={`badge due${overdue ? " overdue" : ""}`} data-overdue={overdue ? "true" : "false"}>
                          {overdue ? "Overdue · " : "Due "}
                          <time dateTime={task.due_date}>{task.due_date}</time>
                        </span>
                      ) : null}
                      {deferred && task.defer_until ? (
                        <span className="badge deferred" data-testid="deferred-until">
                          Deferred until <time dateTime={task.defer_until}>{task.defer_until}</time>
                        </span>
                      ) : null}
                      {task.repeat ? (
                        <span className="badge repeat" data-testid="repeat-mark" title={describeRepeat(task.repeat)}>
                          <span aria-hidden="true">↻ </span>Repeats <span className="sr-only">{describeRepeat(task.repeat)}</span>
                        </span>
                      ) : null}
                      {task.blocked ? (
                        <span className="badge blocked" data-testid="blocked-mark">
                          <span aria-hidden="true">⛔ </span>Blocked
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
      {cursor ? (
        <p className="more">
          <button type="button" className="button" onClick={onMore} disabled={loadingMore} data-testid="show-more">
            {loadingMore ? "Loading…" : "Show more"}
          </button>
        </p>
      ) : null}
    </div>
  );
}
