import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { DeleteProject } from "@/components/DeleteProject";
import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import { Shell } from "@/components/Shell";
import { TaskBoard } from "@/components/TaskBoard";
import { currentBackend, loadBoard } from "@/lib/board";
import { todayIso } from "@/lib/format";
import { gateway } from "@/lib/gateway";

export const metadata: Metadata = { title: "Project" };

export default async function ProjectPage({ params }: PageProps<"/projects/[id]">) {
  const { id } = await params;
  const [board, project] = await Promise.all([loadBoard(), gateway.getProject(id)]);
  if (!project.ok && project.error.code === "not_found") notFound();
  const projects = board.projects.ok ? board.projects.data.projects.map(({ id: projectId, name }) => ({ id: projectId, name })) : [];
  const tasks = board.tasks.ok ? board.tasks.data.tasks.filter((task) => task.project_id === id) : [];
  return (
    <Shell board={board} active="projects">
      {project.ok ? (
        <>
          <div className="page-head">
            <h1>{project.data.name}</h1>
            <span className="badge">{project.data.status}</span>
          </div>
          {project.data.notes ? <p className="project-notes">{project.data.notes}</p> : null}
          <TaskBoard
            tasks={tasks}
            projects={projects}
            view="project"
            listLabel={`Tasks of ${project.data.name}`}
            emptyText={board.tasks.ok ? "No tasks in this project yet. Add its next action above." : "The project's tasks cannot be shown right now."}
            today={todayIso()}
            capture={{ label: "Add a task to this project", placeholder: "Next action for this project", defaults: { project_id: id, status: "next" } }}
            backend={currentBackend(board)}
            location={board.selection.location}
            alert={board.tasks.ok ? null : <ErrorPanel error={board.tasks.error} title="Could not load the project's tasks" />}
          />
          <ServedLine served={project.served} />
          <DeleteProject id={id} name={project.data.name} />
        </>
      ) : (
        <ErrorPanel error={project.error} title="Could not load this project" />
      )}
    </Shell>
  );
}
