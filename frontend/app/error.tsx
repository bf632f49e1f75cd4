"use client";

import Link from "next/link";
import { useEffect } from "react";

/** Anything unexpected (a bug, not a gateway answer: those are shown in place). */
export default function ErrorBoundary({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    const timer = window.setTimeout(reset, 10_000);
    return () => window.clearTimeout(timer);
  }, [reset]);
  return (
    <div className="error-panel page-error" role="alert">
      <p className="error-headline">
        <strong>Something went wrong while loading this page.</strong>
        {error.digest ? (
          <>
            {" · digest "}
            <code>{error.digest}</code>
          </>
        ) : null}
      </p>
      <p className="error-hint">It will be tried again in a few seconds.</p>
      <p>
        <button type="button" className="button" onClick={reset}>
          Try again
        </button>{" "}
        <Link prefetch={false} href="/">Back to the inbox</Link>
      </p>
    </div>
  );
}
