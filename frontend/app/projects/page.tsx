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
  const tasks = board.tasks.ok ? board.tasks.data.tasks : [];
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
                const mine = tasks.filter((task) => task.project_id === project.id);
                const open = mine.filter((task) => task.status !== "done").length;
                return (
                  <li key={project.id} className="project" data-project-id={project.id}>
                    <Link href={`/projects/${project.id}`} className="project-name">
                      {project.name}
                    </Link>
                    <span className="muted">
                      {" "}
                      {open} open · {mine.length - open} done
                      {project.status !== "active" ? ` · ${project.status}` : ""}
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
