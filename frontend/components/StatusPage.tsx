import { ContextFilter } from "@/components/ContextFilter";
import { ErrorPanel } from "@/components/ErrorPanel";
import { SearchBox } from "@/components/SearchBox";
import { ServedLine } from "@/components/ServedLine";
import { Shell } from "@/components/Shell";
import { TaskBoard } from "@/components/TaskBoard";
import { contextsOf, currentBackend, knownContexts, listPage, loadBoard, projectNames } from "@/lib/board";
import { userToday } from "@/lib/today";
import type { Task } from "@/lib/types";
import { VIEW_LABELS, viewHref, viewQuery, type View } from "@/lib/views";

const EMPTY: Record<View, string> = {
  inbox: "Inbox zero. Capture anything on your mind above.",
  next: "No next actions. Move something here from the inbox.",
  waiting: "Not waiting on anyone.",
  scheduled: "Nothing scheduled.",
  someday: "No someday/maybe items.",
  done: "Nothing done yet.",
  tickler: "Nothing deferred. Give a task a “defer until” date and it waits here until its day.",
  blocked: "Nothing blocked.",
};

/** The tickler is read by date: soonest first (within what is loaded; a page holds 500). */
const TICKLER_PAGE = 500;

function byDeferDate(a: Task, b: Task): number {
  return (a.defer_until ?? "").localeCompare(b.defer_until ?? "") || b.created_at.localeCompare(a.created_at);
}

/**
 * One GTD list (a status, the tickler or the blocked tasks), optionally filtered by context and
 * a search. One page of the list is loaded (the rest with "Show more"), the sidebar from
 * `GET /counts`. When the backend fails, the board stays: the error shows above the (empty)
 * list, retried by itself, and captures go to the outbox until the backend answers.
 */
export async function StatusPage({ view, context, q }: { view: View; context: string | null; q: string | null }) {
  const query = { ...viewQuery(view), ...(context ? { context } : {}), ...(q ? { q } : {}) };
  const today = await userToday();
  const [board, list] = await Promise.all([loadBoard(), listPage(query, today, view === "tickler" ? TICKLER_PAGE : undefined)]);
  const label = VIEW_LABELS[view];
  const loaded = list.ok ? list.data.tasks : [];
  const tasks = view === "tickler" ? [...loaded].sort(byDeferDate) : loaded;
  const backend = currentBackend(board);
  const filtered = context || q;
  return (
    <Shell board={board} active={view} context={context}>
      <div className="page-head">
        <h1>
          {label}
          {context ? <span className="muted"> · {context}</span> : null}
          {q ? <span className="muted"> · “{q}”</span> : null}
        </h1>
      </div>
      <SearchBox action={viewHref(view)} q={q} context={context} />
      {list.ok ? <ContextFilter contexts={contextsOf(tasks)} active={context} basePath={viewHref(view)} q={q} /> : null}
      {view === "next" && board.counts.ok && board.counts.data.tasks.blocked > 0 ? (
        <p className="muted hint">Blocked tasks wait under Blocked until what blocks them is done.</p>
      ) : null}
      <TaskBoard
        key={`${backend}-${board.selection.location ?? "auto"}-${view}-${context ?? ""}-${q ?? ""}`}
        tasks={tasks}
        nextCursor={list.ok ? list.data.next_cursor : null}
        query={query}
        projects={projectNames(board)}
        contexts={knownContexts(board, tasks)}
        view={view}
        listLabel={`${label} tasks`}
        emptyText={
          !list.ok
            ? view === "inbox"
              ? "The list cannot be shown right now. Captures are kept in this browser and sent when the backend answers."
              : "The list cannot be shown right now."
            : filtered
              ? `No ${label.toLowerCase()} tasks${context ? ` in ${context}` : ""}${q ? ` matching “${q}”` : ""}.`
              : EMPTY[view]
        }
        today={today}
        capture={
          view === "inbox"
            ? { label: "Capture to inbox", placeholder: "What’s on your mind? Enter to capture", defaults: context ? { context } : {} }
            : undefined
        }
        backend={backend}
        location={board.selection.location}
        alert={list.ok ? null : <ErrorPanel error={list.error} title={`Could not load ${label.toLowerCase()}`} />}
      />
      {list.ok ? <ServedLine served={list.served} /> : null}
    </Shell>
  );
}

export function contextParam(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value[0] : value;
  return text && /^@\S{1,49}$/.test(text) ? text : null;
}

/** The search text: 1–200 characters (the contract's limit), else none. */
export function searchParam(value: string | string[] | undefined): string | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text && [...text].length <= 200 ? text : null;
}
