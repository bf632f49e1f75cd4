import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { DeleteProject } from "@/components/DeleteProject";
import { ErrorPanel } from "@/components/ErrorPanel";
import { ProjectEditForm } from "@/components/ProjectEditForm";
import { ServedLine } from "@/components/ServedLine";
import { Shell } from "@/components/Shell";
import { TaskBoard } from "@/components/TaskBoard";
import { currentBackend, knownContexts, listPage, loadBoard, projectNames } from "@/lib/board";
import { gateway } from "@/lib/gateway";
import { userToday } from "@/lib/today";

export const metadata: Metadata = { title: "Project" };

export default async function ProjectPage({ params }: PageProps<"/projects/[id]">) {
  const { id } = await params;
  const today = await userToday();
  const query = { project_id: id };
  const [board, project, list] = await Promise.all([loadBoard(), gateway.getProject(id, today), listPage(query, today)]);
  if (!project.ok && project.error.code === "not_found") notFound();
  const tasks = list.ok ? list.data.tasks : [];
  return (
    <Shell board={board} active="projects">
      {project.ok ? (
        <>
          <div className="page-head">
            <h1>{project.data.name}</h1>
            <span className="badge">{project.data.status}</span>
            <span className="muted" data-testid="task-counts">
              {project.data.task_counts.open} open · {project.data.task_counts.next} next · {project.data.task_counts.done} done
            </span>
          </div>
          {project.data.notes ? <p className="project-notes">{project.data.notes}</p> : null}
          <TaskBoard
            tasks={tasks}
            nextCursor={list.ok ? list.data.next_cursor : null}
            query={query}
            projects={projectNames(board)}
            contexts={knownContexts(board, tasks)}
            view="project"
            listLabel={`Tasks of ${project.data.name}`}
            emptyText={list.ok ? "No tasks in this project yet. Add its next action above." : "The project's tasks cannot be shown right now."}
            today={today}
            capture={{ label: "Add a task to this project", placeholder: "Next action for this project", defaults: { project_id: id, status: "next" } }}
            backend={currentBackend(board)}
            location={board.selection.location}
            alert={list.ok ? null : <ErrorPanel error={list.error} title="Could not load the project's tasks" />}
          />
          <ServedLine served={project.served} />
          <ProjectEditForm project={project.data} />
          <DeleteProject id={id} name={project.data.name} />
        </>
      ) : (
        <ErrorPanel error={project.error} title="Could not load this project" />
      )}
    </Shell>
  );
}
