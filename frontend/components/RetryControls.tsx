"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState, useTransition } from "react";

/** Back-off between automatic re-checks: 2 s, 4 s, 8 s, then every 10 s while the error lasts. */
const FIRST_S = 2;
const MAX_S = 10;

/**
 * The interactive part of an error panel: "Try again" re-renders the page on
 * the server, and with ``retrying`` it does so by itself, backing off while
 * the error lasts (the panel goes away once it works; a re-render that still
 * fails keeps this component, and so its back-off, in place).
 */
export function RetryControls({ retrying }: { retrying: boolean }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [countdown, setCountdown] = useState(FIRST_S);

  useEffect(() => {
    if (!retrying) return;
    let step = FIRST_S;
    let left = FIRST_S;
    const timer = window.setInterval(() => {
      left -= 1;
      if (left <= 0) {
        startTransition(() => router.refresh());
        step = Math.min(step * 2, MAX_S);
        left = step;
      }
      setCountdown(left);
    }, 1000);
    return () => window.clearInterval(timer);
  }, [retrying, router]);

  return (
    <p className="error-actions">
      <button type="button" className="button" onClick={() => startTransition(() => router.refresh())} disabled={pending}>
        {pending ? "Checking…" : "Try again"}
      </button>
      {retrying ? (
        <span className="muted retrying" aria-live="off">
          {" "}
          Retrying… next check in {countdown} s
        </span>
      ) : null}
    </p>
  );
}
