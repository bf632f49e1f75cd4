import type { Metadata } from "next";

import { DataTools } from "@/components/DataTools";
import { Shell } from "@/components/Shell";
import { currentBackend, loadBoard } from "@/lib/board";

export const metadata: Metadata = { title: "Export / import" };

/** Export, import, and copying one backend's tasks to another. */
export default async function DataPage() {
  const board = await loadBoard();
  const current = currentBackend(board);
  const backends = board.backends.ok ? board.backends.data.backends.map(({ id, name }) => ({ id, name })) : [];
  const counts = board.counts.ok ? board.counts.data : null;
  const total = counts ? counts.tasks.inbox + counts.tasks.next + counts.tasks.waiting + counts.tasks.scheduled + counts.tasks.someday + counts.tasks.deferred + counts.tasks.done : null;
  return (
    <Shell board={board} active="data">
      <div className="page-head">
        <h1>Export / import</h1>
      </div>
      <p className="callout" data-testid="own-data">
        <strong>Each backend holds its own tasks.</strong> Switching backends shows another store, not a copy of this one. This page works on{" "}
        <strong data-testid="data-backend">{current ?? "the default backend"}</strong>
        {total !== null ? ` (${total} tasks)` : ""}.
      </p>
      <DataTools current={current} backends={backends} />
    </Shell>
  );
}
