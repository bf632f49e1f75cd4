import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import type { ApiError, ServedBy, Task } from "@/lib/types";

export type Notice =
  | { kind: "ok"; text: string; served: ServedBy | null }
  | { kind: "undo"; text: string; task: Task; served: ServedBy | null }
  | { kind: "error"; title: string; error: ApiError };

/**
 * What became of the last action on a task board: done (with what served it),
 * deleted (with Undo), or failed (an error panel without auto-retry).
 *
 * Shown only after an action, so TaskBoard loads it lazily: this module and
 * the wording it pulls in (ErrorPanel, ServedLine, lib/format) are not part of
 * a page's first load.
 */
export function ActionNotice({ notice, onUndo }: { notice: Notice; onUndo: (task: Task) => void }) {
  if (notice.kind === "error") return <ErrorPanel error={notice.error} title={notice.title} autoRetry={false} />;
  return (
    <div className="notice-ok">
      <p>
        {notice.text}
        {notice.kind === "undo" ? (
          <>
            {" "}
            <button type="button" className="link-button" onClick={() => onUndo(notice.task)}>
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
