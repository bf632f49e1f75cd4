/**
 * Input rules for bodies, query strings and path ids. The same rules are
 * written down in backends/contract/openapi.yaml; the contract suite checks
 * both agree. Each rule returns the (possibly normalised) value or throws a
 * 422 naming the field.
 */
import { invalid } from "./errors.ts";
import { decodeCursor } from "./paging.ts";
import { canonicalRule, parseRule } from "./rrule.ts";
import {
  PROJECT_STATUSES,
  REPEAT_FROM,
  TASK_STATUSES,
  type ProjectFields,
  type ProjectFilter,
  type TaskFields,
  type TaskFilter,
} from "./types.ts";

export type Rule = (value: unknown, field: string) => unknown;

interface FieldSpec {
  rule: Rule;
  nullable?: boolean;
  required?: boolean;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
// With the u flag this matches only unpaired surrogates, which cannot be stored as UTF-8.
const LONE_SURROGATE_RE = /[\uD800-\uDFFF]/u;
// A GTD context: "@" then 1-49 non-space characters, e.g. "@home", "@phone".
const CONTEXT_RE = /^@\S{1,49}$/u;

/** Length in Unicode code points, so "🙂" counts as 1 (as it does for Python and most clients). */
const codePoints = (s: string): number => [...s].length;

function text(min: number, max: number, { blank = true } = {}): Rule {
  return (value, field) => {
    if (typeof value !== "string") throw invalid(field, `${field} must be a string`);
    if (LONE_SURROGATE_RE.test(value)) throw invalid(field, `${field} must be valid Unicode`);
    const n = codePoints(value);
    if (n < min || n > max) {
      throw invalid(field, `${field} must be ${min}-${max} characters long`);
    }
    if (!blank && value.trim() === "") throw invalid(field, `${field} must not be blank`);
    return value;
  };
}

function oneOf(values: readonly string[]): Rule {
  return (value, field) => {
    if (typeof value !== "string" || !values.includes(value)) {
      throw invalid(field, `${field} must be one of: ${values.join(", ")}`);
    }
    return value;
  };
}

export const uuid: Rule = (value, field) => {
  if (typeof value !== "string" || !UUID_RE.test(value)) {
    throw invalid(field, `${field} must be a UUID`);
  }
  return value.toLowerCase();
};

export const context: Rule = (value, field) => {
  if (typeof value !== "string" || !CONTEXT_RE.test(value) || LONE_SURROGATE_RE.test(value)) {
    throw invalid(field, `${field} must be "@" followed by 1-49 non-space characters, e.g. "@home"`);
  }
  return value;
};

function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= days;
}

export const date: Rule = (value, field) => {
  const m = typeof value === "string" ? DATE_RE.exec(value) : null;
  if (!m || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
    throw invalid(field, `${field} must be a calendar date as YYYY-MM-DD`);
  }
  return value;
};

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/;

/** An RFC 3339 UTC timestamp with milliseconds, as the backends write them, naming a real instant. */
export const timestamp: Rule = (value, field) => {
  const m = typeof value === "string" ? TIMESTAMP_RE.exec(value) : null;
  if (
    !m ||
    !isRealDate(Number(m[1]), Number(m[2]), Number(m[3])) ||
    Number(m[4]) > 23 ||
    Number(m[5]) > 59 ||
    Number(m[6]) > 59
  ) {
    throw invalid(field, `${field} must be a timestamp like 2026-01-31T09:30:00.000Z`);
  }
  return value;
};

/** `{"rule": <RRULE subset>, "from": "due"|"completion"}`; the rule comes back in canonical form. */
export const repeat: Rule = (value, field) => {
  const problem = () =>
    invalid(field, `${field} must be {"rule": an RRULE such as "FREQ=WEEKLY;BYDAY=MO", "from": "due" or "completion"}`);
  if (!isPlainObject(value)) throw problem();
  const keys = Object.keys(value);
  if (keys.length !== 2 || !Object.hasOwn(value, "rule") || !Object.hasOwn(value, "from")) throw problem();
  const parsed = typeof value.rule === "string" ? parseRule(value.rule) : null;
  if (!parsed || typeof value.from !== "string" || !(REPEAT_FROM as readonly string[]).includes(value.from)) {
    throw problem();
  }
  return { rule: canonicalRule(parsed), from: value.from };
};

export const MAX_BLOCKERS = 100;

/**
 * The shape of `blocked_by`: at most 100 UUIDs (normalised lowercase).
 * Duplicates, whether they name tasks, and cycles are checked after
 * `project_id` (contract v2 §1's order): `checkBlockers` in handlers.ts.
 */
export const blockedBy: Rule = (value, field) => {
  if (!Array.isArray(value) || value.length > MAX_BLOCKERS) {
    throw invalid(field, `${field} must be an array of at most ${MAX_BLOCKERS} task ids`);
  }
  const ids = value.map((item) => {
    if (typeof item !== "string" || !UUID_RE.test(item)) throw invalid(field, `${field} must hold task ids (UUIDs)`);
    return item.toLowerCase();
  });
  return ids;
};

/** True when some id appears twice in `ids`. */
export const hasDuplicates = (ids: readonly string[]): boolean => new Set(ids).size !== ids.length;

const TASK_FIELDS: Record<string, FieldSpec> = {
  title: { rule: text(1, 500, { blank: false }), required: true },
  notes: { rule: text(0, 10_000), nullable: true },
  status: { rule: oneOf(TASK_STATUSES) },
  project_id: { rule: uuid, nullable: true },
  context: { rule: context, nullable: true },
  due_date: { rule: date, nullable: true },
  defer_until: { rule: date, nullable: true },
  repeat: { rule: repeat, nullable: true },
  blocked_by: { rule: blockedBy },
};

const PROJECT_FIELDS: Record<string, FieldSpec> = {
  name: { rule: text(1, 200, { blank: false }), required: true },
  status: { rule: oneOf(PROJECT_STATUSES) },
  notes: { rule: text(0, 10_000), nullable: true },
  reviewed_on: { rule: date, nullable: true },
};

// Exported for import.ts: an imported item obeys the same rules as a create.
export { TASK_FIELDS, PROJECT_FIELDS, type FieldSpec };

const bool: Rule = (value, field) => {
  if (value !== "true" && value !== "false") throw invalid(field, `${field} must be true or false`);
  return value === "true";
};

const MAX_LIMIT = 500;

const limit: Rule = (value, field) => {
  // Decimal, no sign, no leading zeros: one spelling per number.
  if (typeof value !== "string" || !/^[1-9][0-9]{0,2}$/.test(value) || Number(value) > MAX_LIMIT) {
    throw invalid(field, `${field} must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return Number(value);
};

const cursor: Rule = (value, field) => {
  const position = typeof value === "string" ? decodeCursor(value) : null;
  if (!position) throw invalid(field, `${field} must be a next_cursor from a previous answer`);
  return position;
};

/** The search text; the match itself (ASCII case-insensitive substring) is store.ts's. */
const query = text(1, 200);

const PAGING: Record<string, Rule> = { limit, cursor, today: date };

const TASK_FILTERS: Record<string, Rule> = {
  status: oneOf(TASK_STATUSES),
  project_id: uuid,
  context,
  deferred: bool,
  blocked: bool,
  available: bool,
  q: query,
  ...PAGING,
};

const PROJECT_FILTERS: Record<string, Rule> = {
  status: oneOf(PROJECT_STATUSES),
  ...PAGING,
};

const TODAY_ONLY: Record<string, Rule> = { today: date };

type Mode = "create" | "update";

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseFields(body: unknown, specs: Record<string, FieldSpec>, mode: Mode) {
  if (!isPlainObject(body)) throw invalid(undefined, "request body must be a JSON object");
  // Unknown (and read-only) fields are rejected rather than ignored, so a
  // client typo such as "stauts" cannot silently do nothing.
  for (const key of Object.keys(body)) {
    if (!Object.hasOwn(specs, key)) throw invalid(key, `unknown or read-only field '${key}'`);
  }
  if (mode === "update" && Object.keys(body).length === 0) {
    throw invalid(undefined, "request body must contain at least one field to change");
  }
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    if (!Object.hasOwn(body, key)) {
      if (mode === "create" && spec.required) throw invalid(key, `${key} is required`);
      continue;
    }
    const value = body[key];
    if (value === null) {
      if (!spec.nullable) throw invalid(key, `${key} must not be null`);
      out[key] = null;
    } else {
      out[key] = spec.rule(value, key);
    }
  }
  return out;
}

function parseQuery(params: URLSearchParams, rules: Record<string, Rule>, { strict = true } = {}) {
  const out: Record<string, unknown> = {};
  for (const key of new Set(params.keys())) {
    if (!Object.hasOwn(rules, key)) {
      if (!strict) continue;
      throw invalid(key, `unknown query parameter '${key}'`);
    }
    const values = params.getAll(key);
    if (values.length > 1) throw invalid(key, `${key} may be given only once`);
    out[key] = rules[key](values[0], key);
  }
  return out;
}

export const parseTaskFields = (body: unknown, mode: Mode): TaskFields =>
  parseFields(body, TASK_FIELDS, mode) as TaskFields;

export const parseProjectFields = (body: unknown, mode: Mode): ProjectFields =>
  parseFields(body, PROJECT_FIELDS, mode) as ProjectFields;

export const parseTaskFilter = (params: URLSearchParams): TaskFilter =>
  parseQuery(params, TASK_FILTERS) as TaskFilter;

export const parseProjectFilter = (params: URLSearchParams): ProjectFilter =>
  parseQuery(params, PROJECT_FILTERS) as ProjectFilter;

/**
 * `today` on the single-resource routes, whose other query parameters are
 * ignored as in v1; undefined when absent.
 */
export const parseToday = (params: URLSearchParams): string | undefined =>
  (parseQuery(params, TODAY_ONLY, { strict: false }) as { today?: string }).today;

/** GET /counts: `today` and nothing else. */
export const parseCountsQuery = (params: URLSearchParams): string | undefined =>
  (parseQuery(params, TODAY_ONLY) as { today?: string }).today;

/** A path id that is not a UUID cannot name anything: callers answer 404, not 422. */
export const isUuid = (value: string): boolean => UUID_RE.test(value);
