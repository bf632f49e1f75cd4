"use client";

import { useActionState } from "react";

import { saveProject } from "@/app/actions";
import { ErrorPanel } from "@/components/ErrorPanel";
import type { ActionResult, ApiError, Project } from "@/lib/types";

function invalid(error: ApiError | null, field: string): true | undefined {
  return error?.field === field ? true : undefined;
}

/** Rename, status, notes and the last review date of a project. */
export function ProjectEditForm({ project }: { project: Project }) {
  const [result, action, saving] = useActionState<ActionResult<Project> | null, FormData>(saveProject, null);
  const error = result && !result.ok ? result.error : null;
  return (
    <section className="project-edit" aria-labelledby="project-edit-title">
      <h2 id="project-edit-title">Project details</h2>
      <form action={action} className="edit-form">
        <input type="hidden" name="id" value={project.id} />
        <div className="field">
          <label htmlFor="project-name-edit">Name</label>
          <input id="project-name-edit" name="name" type="text" required maxLength={200} defaultValue={project.name} aria-invalid={invalid(error, "name")} />
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor="project-status">Status</label>
            <select id="project-status" name="status" defaultValue={project.status}>
              <option value="active">Active</option>
              <option value="someday">Someday</option>
              <option value="done">Done</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="project-reviewed">Reviewed on</label>
            <input id="project-reviewed" name="reviewed_on" type="date" defaultValue={project.reviewed_on ?? ""} aria-invalid={invalid(error, "reviewed_on")} />
          </div>
        </div>
        <div className="field">
          <label htmlFor="project-notes">Notes</label>
          <textarea id="project-notes" name="notes" rows={3} maxLength={10000} defaultValue={project.notes ?? ""} aria-invalid={invalid(error, "notes")} />
        </div>
        <div className="form-actions">
          <button type="submit" className="button primary" disabled={saving}>
            {saving ? "Saving…" : "Save project"}
          </button>
        </div>
        <div aria-live="polite" className="notice" id="project-status-line">
          {result?.ok ? (
            <div className="notice-ok">
              <p>Saved.</p>
            </div>
          ) : null}
          {error ? <ErrorPanel error={error} title="Could not save the project" autoRetry={false} /> : null}
        </div>
      </form>
    </section>
  );
}
