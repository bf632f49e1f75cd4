import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import { Shell } from "@/components/Shell";
import { TaskEditForm } from "@/components/TaskEditForm";
import { knownContexts, listPage, loadBoard, projectNames } from "@/lib/board";
import { gateway } from "@/lib/gateway";
import { userToday } from "@/lib/today";

export const metadata: Metadata = { title: "Edit task" };

/** Blockers are picked among the newest open tasks (one page of the largest size). */
const CANDIDATES = 500;

export default async function TaskPage({ params }: PageProps<"/tasks/[id]">) {
  const { id } = await params;
  const today = await userToday();
  const [board, task, recent] = await Promise.all([loadBoard(), gateway.getTask(id, today), listPage({}, today, CANDIDATES)]);
  if (!task.ok && task.error.code === "not_found") notFound();
  const others = recent.ok ? recent.data.tasks.filter((other) => other.id !== id) : [];
  const titles = new Map(others.map((other) => [other.id, other.title]));
  const candidates = task.ok
    ? [
        // Current blockers first (even if done or not among the newest), then the open tasks.
        ...task.data.blocked_by.map((blocker) => ({ id: blocker, title: titles.get(blocker) ?? `Task ${blocker.slice(0, 8)}` })),
        ...others.filter((other) => other.status !== "done" && !task.data.blocked_by.includes(other.id)).map(({ id: otherId, title }) => ({ id: otherId, title })),
      ]
    : [];
  return (
    <Shell board={board} active={task.ok ? task.data.status : null}>
      <div className="page-head">
        <h1>Edit task</h1>
      </div>
      {task.ok ? (
        <>
          <TaskEditForm task={task.data} projects={projectNames(board)} contexts={knownContexts(board, others)} candidates={candidates} />
          <ServedLine served={task.served} />
        </>
      ) : (
        <ErrorPanel error={task.error} title="Could not load this task" />
      )}
    </Shell>
  );
}
