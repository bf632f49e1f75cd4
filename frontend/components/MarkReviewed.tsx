"use client";

import { useState, useTransition } from "react";

import { markReviewed } from "@/app/actions";
import type { ApiError } from "@/lib/types";

/** The weekly review's "mark reviewed" for one project (reviewed_on = the user's today). */
export function MarkReviewed({ id, name, reviewedOn, today }: { id: string; name: string; reviewedOn: string | null; today: string }) {
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<ApiError | null>(null);
  const done = reviewedOn === today;
  return (
    <span className="mark-reviewed" data-reviewed-on={reviewedOn ?? ""}>
      <span className="muted">{reviewedOn ? `reviewed ${reviewedOn}` : "never reviewed"}</span>{" "}
      <button
        type="button"
        className="button small"
        disabled={pending || done}
        onClick={() =>
          startTransition(async () => {
            const result = await markReviewed(id);
            setError(result.ok ? null : result.error);
          })
        }
      >
        {done ? "✓ Reviewed today" : pending ? "Saving…" : "Mark reviewed"}
        <span className="sr-only"> “{name}”</span>
      </button>
      {error ? (
        <span role="alert" className="error-inline">
          {" "}
          Could not save ({error.code})
        </span>
      ) : null}
    </span>
  );
}
