import { describeServed } from "@/lib/format";
import type { ServedBy } from "@/lib/types";

/** The line under an answer: which backend and location served it, and how long the upstream took. */
export function ServedLine({ served, label = "Served by" }: { served: ServedBy | null; label?: string }) {
  if (!served) return null;
  const text = describeServed(served);
  if (!text && !served.requestId) return null;
  return (
    <p
      className="served"
      data-testid="served-by"
      data-backend={served.backend ?? ""}
      data-location={served.location ?? ""}
      data-upstream-ms={served.upstreamMs ?? ""}
    >
      {text ? (
        <>
          {label} <span className="served-what">{text}</span>
        </>
      ) : null}
      {served.requestId ? (
        <span className="served-req">
          {text ? " · " : ""}request <code>{served.requestId.slice(0, 8)}</code>
        </span>
      ) : null}
    </p>
  );
}
