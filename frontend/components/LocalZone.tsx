"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";

import { ZONE_COOKIE, dateInZone } from "@/lib/dates";

/**
 * Tells the server the browser's time zone (a cookie; the server derives the `today=` it sends
 * with every list from it) and re-renders when the page was rendered for another date than the
 * browser's (only then: a refresh racing the first click's Server Action is avoided). Also
 * re-renders just after local midnight, so a deferred task shows up by itself on its day in an
 * open tab.
 */
export function LocalZone({ today }: { today: string }) {
  const router = useRouter();
  useEffect(() => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const current = document.cookie
      .split("; ")
      .find((part) => part.startsWith(`${ZONE_COOKIE}=`))
      ?.slice(ZONE_COOKIE.length + 1);
    if (zone && current !== encodeURIComponent(zone)) {
      document.cookie = `${ZONE_COOKIE}=${encodeURIComponent(zone)}; path=/; max-age=31536000; samesite=lax`;
    }
    if (dateInZone(zone || null) !== today) router.refresh();
    const now = new Date();
    const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 0, 0, 5);
    const timer = window.setTimeout(() => router.refresh(), midnight.getTime() - now.getTime());
    return () => window.clearTimeout(timer);
  }, [router, today]);
  return null;
}
