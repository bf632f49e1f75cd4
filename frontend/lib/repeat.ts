// The edit form's repeat picker ↔ the contract's RRULE subset (FREQ, INTERVAL, BYDAY with WEEKLY,
// BYMONTHDAY with MONTHLY), written in the canonical form the backends serve.
import type { Repeat } from "./types";

export const FREQS = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"] as const;
export type Freq = (typeof FREQS)[number];
export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const WEEKDAY_NAMES: Record<Weekday, string> = { MO: "Mon", TU: "Tue", WE: "Wed", TH: "Thu", FR: "Fri", SA: "Sat", SU: "Sun" };
const UNIT: Record<Freq, [string, string]> = { DAILY: ["day", "days"], WEEKLY: ["week", "weeks"], MONTHLY: ["month", "months"], YEARLY: ["year", "years"] };

export interface RuleParts {
  freq: Freq;
  interval: number;
  byday: Weekday[];
  bymonthday: number | null;
}

function isFreq(value: unknown): value is Freq {
  return typeof value === "string" && (FREQS as readonly string[]).includes(value);
}

/** The canonical rule text: FREQ, then INTERVAL (left out when 1), BYDAY in MO..SU order, BYMONTHDAY. */
export function formatRule(parts: RuleParts): string {
  const out = [`FREQ=${parts.freq}`];
  if (parts.interval !== 1) out.push(`INTERVAL=${parts.interval}`);
  if (parts.freq === "WEEKLY" && parts.byday.length) out.push(`BYDAY=${WEEKDAYS.filter((day) => parts.byday.includes(day)).join(",")}`);
  if (parts.freq === "MONTHLY" && parts.bymonthday !== null) out.push(`BYMONTHDAY=${parts.bymonthday}`);
  return out.join(";");
}

/** A served rule as picker values (null: not one this picker writes, e.g. from another client). */
export function parseRule(rule: string): RuleParts | null {
  const parts: RuleParts = { freq: "DAILY", interval: 1, byday: [], bymonthday: null };
  let freq: Freq | null = null;
  for (const part of rule.split(";")) {
    const [name, value = ""] = part.split("=");
    if (name === "FREQ" && isFreq(value)) freq = value;
    else if (name === "INTERVAL" && /^[1-9]\d{0,2}$/.test(value)) parts.interval = Number(value);
    else if (name === "BYDAY") parts.byday = value.split(",").filter((day): day is Weekday => (WEEKDAYS as readonly string[]).includes(day));
    else if (name === "BYMONTHDAY" && /^[1-9]\d?$/.test(value)) parts.bymonthday = Number(value);
    else return null;
  }
  if (!freq) return null;
  parts.freq = freq;
  return parts;
}

/** "every 2 weeks on Mon, Fri, from the due date" */
export function describeRepeat(repeat: Repeat): string {
  const parts = parseRule(repeat.rule);
  const from = repeat.from === "due" ? "from the due date" : "from completion";
  if (!parts) return `${repeat.rule}, ${from}`;
  const [one, many] = UNIT[parts.freq];
  let text = parts.interval === 1 ? `every ${one}` : `every ${parts.interval} ${many}`;
  if (parts.freq === "WEEKLY" && parts.byday.length) text += ` on ${parts.byday.map((day) => WEEKDAY_NAMES[day]).join(", ")}`;
  if (parts.freq === "MONTHLY" && parts.bymonthday !== null) text += ` on day ${parts.bymonthday}`;
  return `${text}, ${from}`;
}

/** The picker's fields (repeat_freq "" = does not repeat) → a repeat, null, or "invalid". */
export function ruleFromForm(form: FormData): Repeat | null | "invalid" {
  const freq = form.get("repeat_freq");
  if (freq === "" || freq === null) return null;
  if (!isFreq(freq)) return "invalid";
  const intervalText = String(form.get("repeat_interval") ?? "1").trim() || "1";
  if (!/^[1-9]\d{0,2}$/.test(intervalText) || Number(intervalText) > 365) return "invalid";
  const byday = form.getAll("repeat_byday").filter((day): day is Weekday => (WEEKDAYS as readonly string[]).includes(String(day)));
  const dayText = String(form.get("repeat_bymonthday") ?? "").trim();
  if (dayText && (!/^[1-9]\d?$/.test(dayText) || Number(dayText) > 31)) return "invalid";
  const from = form.get("repeat_from") === "completion" ? "completion" : "due";
  return { rule: formatRule({ freq, interval: Number(intervalText), byday, bymonthday: dayText ? Number(dayText) : null }), from };
}
