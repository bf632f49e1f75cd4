import type { Metadata } from "next";
import Link from "next/link";

import { ErrorPanel } from "@/components/ErrorPanel";
import { ProjectForm } from "@/components/ProjectForm";
import { ServedLine } from "@/components/ServedLine";
import { Shell } from "@/components/Shell";
import { loadBoard } from "@/lib/board";

export const metadata: Metadata = { title: "Projects" };

export default async function ProjectsPage() {
  const board = await loadBoard();
  return (
    <Shell board={board} active="projects">
      <div className="page-head">
        <h1>Projects</h1>
      </div>
      {board.projects.ok ? (
        <>
          <ProjectForm />
          {board.projects.data.projects.length === 0 ? (
            <p className="empty" data-testid="empty">
              No projects yet. A project is any outcome that takes more than one step.
            </p>
          ) : (
            <ul className="projects" aria-label="Projects" data-testid="project-list">
              {board.projects.data.projects.map((project) => {
                const counts = project.task_counts;
                return (
                  <li key={project.id} className="project" data-project-id={project.id}>
                    <Link prefetch={false} href={`/projects/${project.id}`} className="project-name">
                      {project.name}
                    </Link>
                    <span className="muted" data-testid="task-counts">
                      {" "}
                      {counts.open} open · {counts.next} next · {counts.done} done
                      {project.status !== "active" ? ` · ${project.status}` : ""}
                      {project.status === "active" && counts.next === 0 ? " · no next action" : ""}
                    </span>
                  </li>
                );
              })}
            </ul>
          )}
          <ServedLine served={board.projects.served} />
        </>
      ) : (
        <ErrorPanel error={board.projects.error} title="Could not load projects" />
      )}
    </Shell>
  );
}
