"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState, useTransition } from "react";

import { describeError, errorHint, isTransient } from "@/lib/format";
import type { ApiError } from "@/lib/types";

const RETRY_S = 5;

/**
 * An error as a person can act on it: what went wrong (the gateway's message
 * and code), the request id to quote, what to do, and a retry. Errors that
 * may pass by themselves (5xx, unreachable) are retried every few seconds by
 * re-rendering the page on the server; the panel goes away once it works.
 */
export function ErrorPanel({ error, title, autoRetry = true }: { error: ApiError; title?: string; autoRetry?: boolean }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const retrying = autoRetry && isTransient(error);
  const [countdown, setCountdown] = useState(RETRY_S);

  useEffect(() => {
    if (!retrying) return;
    const timer = window.setInterval(() => {
      setCountdown((left) => {
        if (left > 1) return left - 1;
        startTransition(() => router.refresh());
        return RETRY_S;
      });
    }, 1000);
    return () => window.clearInterval(timer);
  }, [retrying, router]);

  return (
    <div className="error-panel" role="alert" data-testid="error-panel" data-code={error.code} data-request-id={error.requestId ?? ""}>
      {title ? <p className="error-title">{title}</p> : null}
      <p className="error-headline">
        <strong>{describeError(error)}</strong>
        {error.requestId ? (
          <>
            {" · request "}
            <code className="request-id">{error.requestId}</code>
          </>
        ) : null}
      </p>
      <p className="error-hint">{errorHint(error)}</p>
      <p className="error-actions">
        <button type="button" className="button" onClick={() => startTransition(() => router.refresh())} disabled={pending}>
          {pending ? "Checking…" : "Try again"}
        </button>
        {retrying ? (
          <span className="muted" aria-live="off">
            {" "}
            Checking again in {countdown} s
          </span>
        ) : null}
      </p>
    </div>
  );
}
