// Pure date helpers shared by server and client code (no time zone database of our own:
// Intl has one).

/** Cookie holding the browser's IANA time zone (read by the server, see lib/today.ts). */
export const ZONE_COOKIE = "gtd-tz";

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar date written `YYYY-MM-DD`. */
export function isIsoDate(value: unknown): value is string {
  if (typeof value !== "string" || !ISO_DATE.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

/** The date in ``zone`` at ``now``; an unknown or absent zone counts as UTC. */
export function dateInZone(zone: string | null, now: Date = new Date()): string {
  if (zone) {
    try {
      const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(now);
      const get = (type: string) => parts.find((part) => part.type === type)?.value ?? "";
      const text = `${get("year")}-${get("month")}-${get("day")}`;
      if (isIsoDate(text)) return text;
    } catch {
      // RangeError: not a zone Intl knows; fall through to UTC.
    }
  }
  return now.toISOString().slice(0, 10);
}

/** ``date`` plus ``days`` (negative: earlier), as `YYYY-MM-DD`. */
export function addDays(date: string, days: number): string {
  const value = new Date(`${date}T00:00:00Z`);
  value.setUTCDate(value.getUTCDate() + days);
  return value.toISOString().slice(0, 10);
}
