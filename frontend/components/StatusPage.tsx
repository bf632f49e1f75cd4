import { ContextFilter } from "@/components/ContextFilter";
import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import { Shell, statusHref } from "@/components/Shell";
import { TaskBoard } from "@/components/TaskBoard";
import { contextsOf, currentBackend, loadBoard } from "@/lib/board";
import { todayIso } from "@/lib/format";
import { STATUS_LABELS, type TaskStatus } from "@/lib/types";

const EMPTY: Record<TaskStatus, string> = {
  inbox: "Inbox zero. Capture anything on your mind above.",
  next: "No next actions. Move something here from the inbox.",
  waiting: "Not waiting on anyone.",
  scheduled: "Nothing scheduled.",
  someday: "No someday/maybe items.",
  done: "Nothing done yet.",
};

/**
 * One GTD list (a status), optionally filtered by context. When the backend
 * fails, the board stays: the error shows above the (empty) list, retried by
 * itself, and captures go to the outbox until the backend answers.
 */
export async function StatusPage({ status, context }: { status: TaskStatus; context: string | null }) {
  const board = await loadBoard();
  const label = STATUS_LABELS[status];
  const all = board.tasks.ok ? board.tasks.data.tasks : [];
  const inStatus = all.filter((task) => task.status === status);
  const shown = context ? inStatus.filter((task) => task.context === context) : inStatus;
  const projects = board.projects.ok ? board.projects.data.projects.map(({ id, name }) => ({ id, name })) : [];
  const backend = currentBackend(board);
  return (
    <Shell board={board} active={status} context={context}>
      <div className="page-head">
        <h1>
          {label}
          {context ? <span className="muted"> · {context}</span> : null}
        </h1>
      </div>
      {board.tasks.ok ? <ContextFilter contexts={contextsOf(all)} active={context} basePath={statusHref(status)} /> : null}
      <TaskBoard
        key={`${backend}-${board.selection.location ?? "auto"}-${status}-${context ?? ""}`}
        tasks={shown}
        projects={projects}
        view={status}
        listLabel={`${label} tasks`}
        emptyText={
          !board.tasks.ok
            ? status === "inbox"
              ? "The list cannot be shown right now. Captures are kept in this browser and sent when the backend answers."
              : "The list cannot be shown right now."
            : context
              ? `No ${label.toLowerCase()} tasks in ${context}.`
              : EMPTY[status]
        }
        today={todayIso()}
        capture={
          status === "inbox"
            ? { label: "Capture to inbox", placeholder: "What’s on your mind? Enter to capture", defaults: context ? { context } : {} }
            : undefined
        }
        backend={backend}
        location={board.selection.location}
        alert={board.tasks.ok ? null : <ErrorPanel error={board.tasks.error} title={`Could not load ${label.toLowerCase()}`} />}
      />
      {board.tasks.ok ? <ServedLine served={board.tasks.served} /> : null}
    </Shell>
  );
}

export function contextParam(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value[0] : value;
  return text && /^@\S{1,49}$/.test(text) ? text : null;
}
