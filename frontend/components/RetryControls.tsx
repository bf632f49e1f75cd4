"use client";

import { useRouter } from "next/navigation";
import { useEffect, useState, useTransition } from "react";

const RETRY_S = 5;

/**
 * The interactive part of an error panel: "Try again" re-renders the page on
 * the server, and with ``retrying`` it does so by itself every few seconds
 * (the panel goes away once it works).
 */
export function RetryControls({ retrying }: { retrying: boolean }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
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
  );
}
