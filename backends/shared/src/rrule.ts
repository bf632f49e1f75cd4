/**
 * Recurring tasks: the RRULE subset of contract v2 (RFC 5545 §3.3.10 value
 * syntax, no `RRULE:` prefix) and the date it gives after an anchor.
 *
 *   const rule = parseRule("BYDAY=WE,MO;FREQ=WEEKLY");   // null if not in the subset
 *   canonicalRule(rule);                                 // "FREQ=WEEKLY;BYDAY=MO,WE"
 *   nextDate(rule, "2026-12-02");                        // "2026-12-07"
 *
 * Dates are `YYYY-MM-DD` strings; arithmetic runs on UTC midnights so no
 * time zone or DST shift can move a day.
 */

export type Freq = "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY";

export interface Rule {
  freq: Freq;
  interval: number;
  /** Weekdays as 0 = Monday … 6 = Sunday, ascending, distinct; only with WEEKLY. */
  byDay: number[] | null;
  /** 1..31; only with MONTHLY. */
  byMonthDay: number | null;
}

export const MAX_RULE_LENGTH = 100;

const FREQS: readonly Freq[] = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"];
const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
// Decimal without sign or leading zeros.
const NUMBER_RE = /^[1-9][0-9]*$/;
const DAY_MS = 86_400_000;

/** The rule, or null when `text` is not in the subset (unknown part, bad value, repeated name…). */
export function parseRule(text: string): Rule | null {
  if (text.length === 0 || text.length > MAX_RULE_LENGTH) return null;
  const parts = new Map<string, string>();
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return null; // empty part (e.g. a trailing ";") or no NAME=
    const name = part.slice(0, eq);
    if (parts.has(name)) return null;
    parts.set(name, part.slice(eq + 1));
  }
  for (const name of parts.keys()) {
    if (!["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY"].includes(name)) return null;
  }
  const freq = parts.get("FREQ");
  if (freq === undefined || !FREQS.includes(freq as Freq)) return null;
  const rule: Rule = { freq: freq as Freq, interval: 1, byDay: null, byMonthDay: null };

  const interval = parts.get("INTERVAL");
  if (interval !== undefined) {
    const n = parseBounded(interval, 365);
    if (n === null) return null;
    rule.interval = n;
  }
  const byDay = parts.get("BYDAY");
  if (byDay !== undefined) {
    if (rule.freq !== "WEEKLY") return null;
    const days = byDay.split(",").map((d) => WEEKDAYS.indexOf(d as (typeof WEEKDAYS)[number]));
    if (days.includes(-1) || new Set(days).size !== days.length) return null;
    rule.byDay = days.sort((a, b) => a - b);
  }
  const byMonthDay = parts.get("BYMONTHDAY");
  if (byMonthDay !== undefined) {
    if (rule.freq !== "MONTHLY") return null;
    const n = parseBounded(byMonthDay, 31);
    if (n === null) return null;
    rule.byMonthDay = n;
  }
  return rule;
}

function parseBounded(value: string, max: number): number | null {
  if (!NUMBER_RE.test(value) || value.length > 3) return null;
  const n = Number(value);
  return n <= max ? n : null;
}

/** The served form: FREQ, then INTERVAL (only when not 1), BYDAY in MO..SU order, BYMONTHDAY. */
export function canonicalRule(rule: Rule): string {
  const parts = [`FREQ=${rule.freq}`];
  if (rule.interval !== 1) parts.push(`INTERVAL=${rule.interval}`);
  if (rule.byDay) parts.push(`BYDAY=${rule.byDay.map((d) => WEEKDAYS[d]).join(",")}`);
  if (rule.byMonthDay !== null) parts.push(`BYMONTHDAY=${rule.byMonthDay}`);
  return parts.join(";");
}

// --- dates ---------------------------------------------------------------------

const toMs = (date: string): number => Date.parse(`${date}T00:00:00.000Z`);
const fromMs = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** `date` plus `days` (may be negative). */
export function addDays(date: string, days: number): string {
  return fromMs(toMs(date) + days * DAY_MS);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((toMs(to) - toMs(from)) / DAY_MS);
}

/** UTC midnight of a date; setUTCFullYear, unlike Date.UTC, keeps years 0-99 as they are. */
function utc(year: number, month: number, day: number): Date {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d;
}

function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one (month is 1-based here).
  return utc(year, month + 1, 0).getUTCDate();
}

function ymd(year: number, month: number, day: number): string {
  return fromMs(utc(year, month, day).getTime());
}

/** The date after `anchor` that `rule` gives (contract v2 §5, "next(anchor)"). */
export function nextDate(rule: Rule, anchor: string): string {
  const [year, month, day] = anchor.split("-").map(Number);
  switch (rule.freq) {
    case "DAILY":
      return addDays(anchor, rule.interval);
    case "WEEKLY": {
      if (!rule.byDay) return addDays(anchor, 7 * rule.interval);
      const weekday = (new Date(toMs(anchor)).getUTCDay() + 6) % 7; // Monday = 0
      const later = rule.byDay.find((d) => d > weekday);
      if (later !== undefined) return addDays(anchor, later - weekday);
      const monday = addDays(anchor, -weekday);
      return addDays(monday, 7 * rule.interval + rule.byDay[0]);
    }
    case "MONTHLY": {
      const wanted = rule.byMonthDay ?? day;
      if (rule.byMonthDay !== null && Math.min(wanted, daysInMonth(year, month)) > day) {
        return ymd(year, month, Math.min(wanted, daysInMonth(year, month)));
      }
      // Months counted from zero so that the year carries over.
      const index = year * 12 + (month - 1) + rule.interval;
      const y = Math.floor(index / 12);
      const m = (index % 12) + 1;
      return ymd(y, m, Math.min(wanted, daysInMonth(y, m)));
    }
    case "YEARLY": {
      const y = year + rule.interval;
      return ymd(y, month, Math.min(day, daysInMonth(y, month)));
    }
  }
}
