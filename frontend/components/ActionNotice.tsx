import Link from "next/link";

import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import type { ApiError, ServedBy, Task, TaskStatus } from "@/lib/types";

/** What an Undo puts back: a deleted task (re-created with its id), or a task's list before a move/completion. */
export type Undo = { type: "delete"; task: Task } | { type: "move"; task: Task; previous: TaskStatus; occurrenceId: string | null };

export type Notice =
  | { kind: "ok"; text: string; served: ServedBy | null }
  | { kind: "undo"; text: string; undo: Undo; served: ServedBy | null; link?: { href: string; text: string } }
  | { kind: "error"; title: string; error: ApiError };

/**
 * What became of the last action on a task board: done (with what served it and, for a
 * move, completion or delete, an Undo; after completing a recurring task a link to its next
 * occurrence), or failed (an error panel without auto-retry).
 *
 * Shown only after an action, so TaskBoard loads it lazily: this module and
 * the wording it pulls in (ErrorPanel, ServedLine, lib/format) are not part of
 * a page's first load.
 */
export function ActionNotice({ notice, onUndo }: { notice: Notice; onUndo: (undo: Undo) => void }) {
  if (notice.kind === "error") return <ErrorPanel error={notice.error} title={notice.title} autoRetry={false} />;
  return (
    <div className="notice-ok">
      <p>
        {notice.text}
        {notice.kind === "undo" && notice.link ? (
          <>
            {" "}
            <Link prefetch={false} href={notice.link.href} data-testid="next-occurrence">
              {notice.link.text}
            </Link>
          </>
        ) : null}
        {notice.kind === "undo" ? (
          <>
            {" "}
            <button type="button" className="link-button" onClick={() => onUndo(notice.undo)}>
              Undo
            </button>
          </>
        ) : null}
      </p>
      <ServedLine served={notice.served} />
    </div>
  );
}

export default ActionNotice;
