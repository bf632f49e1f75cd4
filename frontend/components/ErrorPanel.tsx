import { RetryControls } from "@/components/RetryControls";
import { describeError, errorHint, isTransient } from "@/lib/format";
import type { ApiError } from "@/lib/types";

/**
 * An error as a person can act on it: what went wrong (the gateway's message
 * and code), the request id to quote, what to do, and a retry. Errors that
 * may pass by themselves (5xx, unreachable) are retried every few seconds by
 * re-rendering the page on the server; the panel goes away once it works.
 *
 * Not a client component: a page renders it on the server, so the wording
 * (lib/format) stays out of the browser's first load; only the retry button
 * and countdown (RetryControls) are client code. Client components import it
 * lazily, when an action has failed (components/ActionNotice).
 */
export function ErrorPanel({ error, title, autoRetry = true }: { error: ApiError; title?: string; autoRetry?: boolean }) {
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
      <RetryControls retrying={autoRetry && isTransient(error)} />
    </div>
  );
}
