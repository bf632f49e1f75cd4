"use client";

import { useActionState } from "react";

import { createProject } from "@/app/actions";
import { ErrorPanel } from "@/components/ErrorPanel";
import { ServedLine } from "@/components/ServedLine";
import type { ActionResult, Project } from "@/lib/types";

export function ProjectForm() {
  const [result, action, pending] = useActionState<ActionResult<Project> | null, FormData>(createProject, null);
  return (
    <form action={action} className="capture">
      <label htmlFor="project-name" className="capture-label">
        New project
      </label>
      <div className="capture-row">
        <input id="project-name" name="name" type="text" required maxLength={200} autoComplete="off" placeholder="A outcome with more than one step" />
        <button type="submit" className="button primary" disabled={pending}>
          {pending ? "Creating…" : "Create"}
        </button>
      </div>
      <div aria-live="polite" className="notice">
        {result?.ok ? (
          <div className="notice-ok">
            <p>Created “{result.data.name}”.</p>
            <ServedLine served={result.served} />
          </div>
        ) : null}
        {result && !result.ok ? <ErrorPanel error={result.error} title="Could not create the project" autoRetry={false} /> : null}
      </div>
    </form>
  );
}
