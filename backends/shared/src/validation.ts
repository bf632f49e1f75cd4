/**
 * Input rules for bodies, query strings and path ids. The same rules are
 * written down in backends/contract/openapi.yaml; the contract suite checks
 * both agree. Each rule returns the (possibly normalised) value or throws a
 * 422 naming the field.
 */
import { invalid } from "./errors.ts";
import {
  PROJECT_STATUSES,
  TASK_STATUSES,
  type ProjectFields,
  type ProjectFilter,
  type TaskFields,
  type TaskFilter,
} from "./types.ts";

type Rule = (value: unknown, field: string) => unknown;

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

const uuid: Rule = (value, field) => {
  if (typeof value !== "string" || !UUID_RE.test(value)) {
    throw invalid(field, `${field} must be a UUID`);
  }
  return value.toLowerCase();
};

const context: Rule = (value, field) => {
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

const date: Rule = (value, field) => {
  const m = typeof value === "string" ? DATE_RE.exec(value) : null;
  if (!m || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) {
    throw invalid(field, `${field} must be a calendar date as YYYY-MM-DD`);
  }
  return value;
};

const TASK_FIELDS: Record<string, FieldSpec> = {
  title: { rule: text(1, 500, { blank: false }), required: true },
  notes: { rule: text(0, 10_000), nullable: true },
  status: { rule: oneOf(TASK_STATUSES) },
  project_id: { rule: uuid, nullable: true },
  context: { rule: context, nullable: true },
  due_date: { rule: date, nullable: true },
};

const PROJECT_FIELDS: Record<string, FieldSpec> = {
  name: { rule: text(1, 200, { blank: false }), required: true },
  status: { rule: oneOf(PROJECT_STATUSES) },
  notes: { rule: text(0, 10_000), nullable: true },
};

const TASK_FILTERS: Record<string, Rule> = {
  status: oneOf(TASK_STATUSES),
  project_id: uuid,
  context,
};

const PROJECT_FILTERS: Record<string, Rule> = {
  status: oneOf(PROJECT_STATUSES),
};

type Mode = "create" | "update";

function isPlainObject(value: unknown): value is Record<string, unknown> {
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

function parseQuery(params: URLSearchParams, rules: Record<string, Rule>) {
  const out: Record<string, unknown> = {};
  for (const key of new Set(params.keys())) {
    if (!Object.hasOwn(rules, key)) throw invalid(key, `unknown query parameter '${key}'`);
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

/** A path id that is not a UUID cannot name anything: callers answer 404, not 422. */
export const isUuid = (value: string): boolean => UUID_RE.test(value);
