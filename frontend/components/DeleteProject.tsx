"use client";

import { useState, useTransition } from "react";

import { deleteProject } from "@/app/actions";
import { ErrorPanel } from "@/components/ErrorPanel";
import type { ApiError } from "@/lib/types";

/** Two-step delete: the project goes, its tasks stay (without a project). */
export function DeleteProject({ id, name }: { id: string; name: string }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [pending, startTransition] = useTransition();
  return (
    <section className="danger-zone" aria-label="Delete project">
      {confirming ? (
        <p>
          Delete the project “{name}”? Its tasks stay, without a project.{" "}
          <button
            type="button"
            className="button danger"
            disabled={pending}
            onClick={() =>
              startTransition(async () => {
                const result = await deleteProject(id);
                if (result && !result.ok) setError(result.error);
              })
            }
          >
            Yes, delete project
          </button>{" "}
          <button type="button" className="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </p>
      ) : (
        <button type="button" className="button danger" onClick={() => setConfirming(true)}>
          Delete project…
        </button>
      )}
      {error ? <ErrorPanel error={error} title="Could not delete the project" autoRetry={false} /> : null}
    </section>
  );
}
