"use client";

import { useEffect } from "react";

import { isWaiting, sendNow, startOutbox, useOutbox } from "@/lib/outbox";

/**
 * The header's outbox line: "2 captures waiting for cf-d1" per backend, with
 * "Send now". Rendered by every page (Shell), so it is also what starts the
 * tab's sender: a reload or a new tab on any page finds the queue and sends it.
 * The live region is always there (announced when it fills or empties); its
 * content only while something waits.
 */
export function OutboxStatus() {
  const items = useOutbox();
  useEffect(startOutbox, []);
  const counts = new Map<string, number>();
  for (const item of items) if (isWaiting(item)) counts.set(item.backend ?? "", (counts.get(item.backend ?? "") ?? 0) + 1);
  const total = [...counts.values()].reduce((sum, count) => sum + count, 0);
  return (
    <div role="status" className="outbox-live">
      {total ? (
        <div className="outbox" data-testid="outbox" data-count={total}>
          {[...counts].map(([backend, count]) => (
            <span key={backend} className="outbox-backend" data-testid="outbox-backend" data-backend={backend} data-count={count}>
              {count} {count === 1 ? "capture" : "captures"} waiting for <strong>{backend || "the default backend"}</strong>
            </span>
          ))}
          <button type="button" className="button small" onClick={sendNow}>
            Send now
          </button>
        </div>
      ) : null}
    </div>
  );
}
