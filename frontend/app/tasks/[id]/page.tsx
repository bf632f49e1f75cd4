import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import { Shell } from "@/components/Shell";
import { TaskEditForm } from "@/components/TaskEditForm";
import { loadBoard } from "@/lib/board";
import { gateway } from "@/lib/gateway";

export const metadata: Metadata = { title: "Edit task" };

export default async function TaskPage({ params }: PageProps<"/tasks/[id]">) {
  const { id } = await params;
  const [board, task] = await Promise.all([loadBoard(), gateway.getTask(id)]);
  if (!task.ok && task.error.code === "not_found") notFound();
  const projects = board.projects.ok ? board.projects.data.projects.map(({ id: projectId, name }) => ({ id: projectId, name })) : [];
  return (
    <Shell board={board} active={task.ok ? task.data.status : null}>
      <div className="page-head">
        <h1>Edit task</h1>
      </div>
      {task.ok ? (
        <>
          <TaskEditForm task={task.data} projects={projects} />
          <ServedLine served={task.served} />
        </>
      ) : (
        <ErrorPanel error={task.error} title="Could not load this task" />
      )}
    </Shell>
  );
}
