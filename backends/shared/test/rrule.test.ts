/**
 * The RRULE subset of contract v2 §5: what parses, its canonical form, and
 * next(anchor) with the spec's examples and the month-end and leap-year edges.
 * Run with: bun test backends/shared
 */
import { expect, test } from "bun:test";
import { addDays, canonicalRule, daysBetween, nextDate, parseRule, type Rule } from "../src/rrule.ts";

const rule = (text: string): Rule => {
  const parsed = parseRule(text);
  if (parsed === null) throw new Error(`expected ${text} to parse`);
  return parsed;
};
const next = (text: string, anchor: string) => nextDate(rule(text), anchor);

// --- parsing -------------------------------------------------------------------

test("a rule with only FREQ parses with interval 1", () => {
  expect(parseRule("FREQ=DAILY")).toEqual({ freq: "DAILY", interval: 1, byDay: null, byMonthDay: null });
});

test("parts may come in any order", () => {
  expect(parseRule("INTERVAL=2;FREQ=MONTHLY;BYMONTHDAY=15")).toEqual({
    freq: "MONTHLY",
    interval: 2,
    byDay: null,
    byMonthDay: 15,
  });
});

test("a rule without FREQ is refused", () => expect(parseRule("INTERVAL=2")).toBeNull());
test("an unknown frequency is refused", () => expect(parseRule("FREQ=HOURLY")).toBeNull());
test("COUNT is refused", () => expect(parseRule("FREQ=DAILY;COUNT=3")).toBeNull());
test("UNTIL is refused", () => expect(parseRule("FREQ=DAILY;UNTIL=20261231")).toBeNull());
test("WKST is refused", () => expect(parseRule("FREQ=WEEKLY;WKST=MO")).toBeNull());
test("BYSETPOS is refused", () => expect(parseRule("FREQ=MONTHLY;BYSETPOS=1")).toBeNull());
test("a lowercase name is refused", () => expect(parseRule("freq=DAILY")).toBeNull());
test("a lowercase value is refused", () => expect(parseRule("FREQ=daily")).toBeNull());
test("the RRULE: prefix is refused", () => expect(parseRule("RRULE:FREQ=DAILY")).toBeNull());
test("an empty part is refused", () => expect(parseRule("FREQ=DAILY;;INTERVAL=2")).toBeNull());
test("a trailing semicolon is refused", () => expect(parseRule("FREQ=DAILY;")).toBeNull());
test("a repeated name is refused", () => expect(parseRule("FREQ=DAILY;FREQ=WEEKLY")).toBeNull());
test("an empty rule is refused", () => expect(parseRule("")).toBeNull());
test("a part without a value sign is refused", () => expect(parseRule("FREQ")).toBeNull());

test("INTERVAL 365 is the largest accepted", () => expect(parseRule("FREQ=DAILY;INTERVAL=365")?.interval).toBe(365));
test("INTERVAL 366 is refused", () => expect(parseRule("FREQ=DAILY;INTERVAL=366")).toBeNull());
test("INTERVAL 0 is refused", () => expect(parseRule("FREQ=DAILY;INTERVAL=0")).toBeNull());
test("INTERVAL with a leading zero is refused", () => expect(parseRule("FREQ=DAILY;INTERVAL=02")).toBeNull());
test("INTERVAL with a sign is refused", () => expect(parseRule("FREQ=DAILY;INTERVAL=+2")).toBeNull());

test("BYDAY with DAILY is refused", () => expect(parseRule("FREQ=DAILY;BYDAY=MO")).toBeNull());
test("BYDAY with an ordinal prefix is refused", () => expect(parseRule("FREQ=WEEKLY;BYDAY=1MO")).toBeNull());
test("BYDAY naming a day twice is refused", () => expect(parseRule("FREQ=WEEKLY;BYDAY=MO,MO")).toBeNull());
test("an empty BYDAY is refused", () => expect(parseRule("FREQ=WEEKLY;BYDAY=")).toBeNull());
test("BYDAY with all seven days parses", () =>
  expect(parseRule("FREQ=WEEKLY;BYDAY=SU,SA,FR,TH,WE,TU,MO")?.byDay).toEqual([0, 1, 2, 3, 4, 5, 6]));

test("BYMONTHDAY with WEEKLY is refused", () => expect(parseRule("FREQ=WEEKLY;BYMONTHDAY=3")).toBeNull());
test("BYMONTHDAY 32 is refused", () => expect(parseRule("FREQ=MONTHLY;BYMONTHDAY=32")).toBeNull());
test("BYMONTHDAY with two values is refused", () => expect(parseRule("FREQ=MONTHLY;BYMONTHDAY=1,15")).toBeNull());
test("BYMONTHDAY negative is refused", () => expect(parseRule("FREQ=MONTHLY;BYMONTHDAY=-1")).toBeNull());

test("a rule of 101 characters is refused", () => {
  const long = `FREQ=DAILY;INTERVAL=1${";".repeat(0)}`.padEnd(101, "0");
  expect(long.length).toBe(101);
  expect(parseRule(long)).toBeNull();
});

// --- canonical form --------------------------------------------------------------

test("the spec's example is served as FREQ=WEEKLY;BYDAY=MO,WE", () =>
  expect(canonicalRule(rule("BYDAY=WE,MO;INTERVAL=1;FREQ=WEEKLY"))).toBe("FREQ=WEEKLY;BYDAY=MO,WE"));

test("the canonical form keeps an interval other than 1", () =>
  expect(canonicalRule(rule("BYMONTHDAY=31;INTERVAL=3;FREQ=MONTHLY"))).toBe("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31"));

test("a canonical rule is its own canonical form", () =>
  expect(canonicalRule(rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU"))).toBe("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU"));

// --- next(anchor) ----------------------------------------------------------------

test("DAILY adds the interval in days", () => expect(next("FREQ=DAILY;INTERVAL=3", "2026-12-30")).toBe("2027-01-02"));
test("WEEKLY without BYDAY adds whole weeks", () => expect(next("FREQ=WEEKLY;INTERVAL=2", "2026-12-02")).toBe("2026-12-16"));
test("WEEKLY BYDAY takes a later day in the anchor's week", () =>
  expect(next("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-02")).toBe("2026-12-04"));
test("WEEKLY BYDAY moves to the next week after the last day", () =>
  expect(next("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-04")).toBe("2026-12-07"));
test("WEEKLY BYDAY with INTERVAL 2 skips a week", () =>
  expect(next("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", "2026-12-04")).toBe("2026-12-14"));
test("WEEKLY BYDAY from a Sunday anchor goes to the next week (weeks start on Monday)", () =>
  expect(next("FREQ=WEEKLY;BYDAY=SU", "2026-12-06")).toBe("2026-12-13"));
test("WEEKLY BYDAY never returns the anchor itself", () =>
  expect(next("FREQ=WEEKLY;BYDAY=WE", "2026-12-02")).toBe("2026-12-09"));
test("MONTHLY from the 31st clamps to the end of February", () =>
  expect(next("FREQ=MONTHLY", "2026-01-31")).toBe("2026-02-28"));
test("MONTHLY from the 31st clamps to 29 February in a leap year", () =>
  expect(next("FREQ=MONTHLY", "2028-01-31")).toBe("2028-02-29"));
test("MONTHLY BYMONTHDAY later in the anchor's month stays in that month", () =>
  expect(next("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-05")).toBe("2026-01-20"));
test("MONTHLY BYMONTHDAY already passed goes to the next month", () =>
  expect(next("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-25")).toBe("2026-02-20"));
test("MONTHLY BYMONTHDAY on the anchor's own day goes to the next month", () =>
  expect(next("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-20")).toBe("2026-02-20"));
test("MONTHLY BYMONTHDAY 31 from 30 November goes to 31 December, not 30 November", () =>
  expect(next("FREQ=MONTHLY;BYMONTHDAY=31", "2026-11-30")).toBe("2026-12-31"));
test("MONTHLY BYMONTHDAY 31 clamps to 30 November", () =>
  expect(next("FREQ=MONTHLY;BYMONTHDAY=31", "2026-10-31")).toBe("2026-11-30"));
test("MONTHLY BYMONTHDAY 31 from 28 February in the month's clamped last day moves on", () =>
  expect(next("FREQ=MONTHLY;BYMONTHDAY=31", "2026-02-28")).toBe("2026-03-31"));
test("MONTHLY with an interval crosses the year", () =>
  expect(next("FREQ=MONTHLY;INTERVAL=3", "2026-11-15")).toBe("2027-02-15"));
test("YEARLY keeps month and day", () => expect(next("FREQ=YEARLY", "2026-03-01")).toBe("2027-03-01"));
test("YEARLY from 29 February goes to 28 February", () => expect(next("FREQ=YEARLY", "2028-02-29")).toBe("2029-02-28"));
test("YEARLY from 29 February with INTERVAL 4 keeps 29 February", () =>
  expect(next("FREQ=YEARLY;INTERVAL=4", "2028-02-29")).toBe("2032-02-29"));

// --- date helpers ----------------------------------------------------------------

test("addDays crosses a leap day", () => expect(addDays("2028-02-28", 2)).toBe("2028-03-01"));
test("addDays goes backwards with a negative count", () => expect(addDays("2027-01-01", -1)).toBe("2026-12-31"));
test("daysBetween counts whole days", () => expect(daysBetween("2026-12-10", "2026-12-12")).toBe(2));
