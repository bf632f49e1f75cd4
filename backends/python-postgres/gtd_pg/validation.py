"""Input rules for bodies, query strings and path ids, as declarative schemas.

The rules are those of backends/contract/openapi.yaml (and of the TypeScript
backends' validation.ts, whose messages these are): each rule returns the
(possibly normalised) value or raises a 422 naming the field. Pydantic is not
used on purpose: its error shape and coercions are not the contract's, and
the contract's checks are JavaScript's (code-point lengths, JS whitespace,
ASCII-only digits), which are spelled out here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import invalid
from .paging import decode_cursor
from .rrule import MAX_RULE_LENGTH, parse_rule

TASK_STATUSES = ("inbox", "next", "waiting", "scheduled", "someday", "done")
PROJECT_STATUSES = ("active", "someday", "done")

# JavaScript's \s and String.prototype.trim(): WhiteSpace + LineTerminator. Python's
# str.isspace() differs (it counts \x1c-\x1f and \x85, not \ufeff), so it is spelled out.
JS_WHITESPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
WS_CLASS = "".join(f"\\u{ord(c):04x}" for c in JS_WHITESPACE)

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
CONTEXT_RE = re.compile(f"@[^{WS_CLASS}]{{1,49}}")
LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")

Rule = Callable[[Any, str], Any]


def js_trim(value: str) -> str:
    return value.strip(JS_WHITESPACE)


def is_uuid(value: str) -> bool:
    """A path id that is not a UUID cannot name anything: callers answer 404, not 422."""
    return UUID_RE.fullmatch(value) is not None


# -- rules -----------------------------------------------------------------------------


def text(low: int, high: int, *, blank: bool = True) -> Rule:
    def rule(value: Any, field: str) -> str:
        if not isinstance(value, str):
            raise invalid(field, f"{field} must be a string")
        if LONE_SURROGATE_RE.search(value):
            raise invalid(field, f"{field} must be valid Unicode")
        if not low <= len(value) <= high:  # code points, like the contract
            raise invalid(field, f"{field} must be {low}-{high} characters long")
        if not blank and js_trim(value) == "":
            raise invalid(field, f"{field} must not be blank")
        return value

    return rule


def one_of(values: Iterable[str]) -> Rule:
    allowed = tuple(values)

    def rule(value: Any, field: str) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise invalid(field, f"{field} must be one of: {', '.join(allowed)}")
        return value

    return rule


def uuid(value: Any, field: str) -> str:
    if not isinstance(value, str) or not is_uuid(value):
        raise invalid(field, f"{field} must be a UUID")
    return value.lower()


def context(value: Any, field: str) -> str:
    if not isinstance(value, str) or not CONTEXT_RE.fullmatch(value) or LONE_SURROGATE_RE.search(value):
        raise invalid(field, f'{field} must be "@" followed by 1-49 non-space characters, e.g. "@home"')
    return value


def is_real_date(year: int, month: int, day: int) -> bool:
    if month < 1 or month > 12 or day < 1:
        return False
    leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return day <= days


def date(value: Any, field: str) -> str:
    m = DATE_RE.fullmatch(value) if isinstance(value, str) else None
    if not m or not is_real_date(int(m[1]), int(m[2]), int(m[3])):
        raise invalid(field, f"{field} must be a calendar date as YYYY-MM-DD")
    return m[0]


MAX_BLOCKERS = 100
REPEAT_FROM = ("due", "completion")


def repeat(value: Any, field: str) -> dict[str, str]:
    """`{"rule": <RRULE subset>, "from": "due"|"completion"}`; the rule in its canonical form."""
    message = (
        f'{field} must be {{"rule": <FREQ=DAILY|WEEKLY|MONTHLY|YEARLY[;INTERVAL=n][;BYDAY=..][;BYMONTHDAY=n], '
        f'at most {MAX_RULE_LENGTH} characters>, "from": "due" or "completion"}}'
    )
    if not isinstance(value, dict) or set(value) != {"rule", "from"}:
        raise invalid(field, message)
    rule = parse_rule(value["rule"]) if isinstance(value["rule"], str) else None
    if rule is None or value["from"] not in REPEAT_FROM:
        raise invalid(field, message)
    return {"rule": rule.canonical(), "from": value["from"]}


def blocked_by(value: Any, field: str) -> list[str]:
    """At most 100 task ids (lowercased); existence, self and duplicates are the Store's checks."""
    if not isinstance(value, list) or len(value) > MAX_BLOCKERS:
        raise invalid(field, f"{field} must be an array of at most {MAX_BLOCKERS} task ids")
    if not all(isinstance(item, str) and is_uuid(item) for item in value):
        raise invalid(field, f"{field} must contain task ids (UUIDs)")
    return [item.lower() for item in value]


def flag(value: Any, field: str) -> bool:
    if value not in ("true", "false"):
        raise invalid(field, f"{field} must be true or false")
    return bool(value == "true")


MAX_LIMIT = 500


def limit(value: Any, field: str) -> int:
    # Decimal, no sign, no leading zeros: one spelling per number.
    if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]{0,2}", value) or int(value) > MAX_LIMIT:
        raise invalid(field, f"{field} must be an integer from 1 to {MAX_LIMIT}")
    return int(value)


def cursor(value: Any, field: str) -> Any:
    position = decode_cursor(value) if isinstance(value, str) else None
    if position is None:
        raise invalid(field, f"{field} must be a next_cursor from a previous answer")
    return position


# -- schemas ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    rule: Rule
    nullable: bool = False
    required: bool = False


@dataclass(frozen=True)
class Schema:
    """An object schema: known fields only, rules per field; `create` enforces required fields,
    `update` needs at least one field. Returns the validated fields (absent = not given)."""

    fields: Mapping[str, Field]

    def parse(self, body: Any, mode: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid(None, "request body must be a JSON object")
        # Unknown (and read-only) fields are rejected rather than ignored, so a client typo
        # such as "stauts" cannot silently do nothing. JavaScript's key order decides which
        # one is named first: array-index keys ascending, then the rest as written.
        for key in js_key_order(body):
            if key not in self.fields:
                raise invalid(key, f"unknown or read-only field '{key}'")
        if mode == "update" and not body:
            raise invalid(None, "request body must contain at least one field to change")
        out: dict[str, Any] = {}
        for key, spec in self.fields.items():
            if key not in body:
                if mode == "create" and spec.required:
                    raise invalid(key, f"{key} is required")
                continue
            value = body[key]
            if value is None:
                if not spec.nullable:
                    raise invalid(key, f"{key} must not be null")
                out[key] = None
            else:
                out[key] = spec.rule(value, key)
        return out


_ARRAY_INDEX_RE = re.compile(r"0|[1-9][0-9]*")


def js_key_order(obj: Mapping[str, Any]) -> list[str]:
    """Object.keys() order of a JSON.parse'd object: integer-like keys first, ascending."""
    keys = list(obj)
    index_keys = [k for k in keys if _ARRAY_INDEX_RE.fullmatch(k) and int(k) < 2**32 - 1]
    if not index_keys:
        return keys
    index_set = set(index_keys)
    return sorted(index_keys, key=int) + [k for k in keys if k not in index_set]


TASK = Schema(
    {
        "title": Field(text(1, 500, blank=False), required=True),
        "notes": Field(text(0, 10_000), nullable=True),
        "status": Field(one_of(TASK_STATUSES)),
        "project_id": Field(uuid, nullable=True),
        "context": Field(context, nullable=True),
        "due_date": Field(date, nullable=True),
        "defer_until": Field(date, nullable=True),
        "repeat": Field(repeat, nullable=True),
        "blocked_by": Field(blocked_by),
    }
)

PROJECT = Schema(
    {
        "name": Field(text(1, 200, blank=False), required=True),
        "status": Field(one_of(PROJECT_STATUSES)),
        "notes": Field(text(0, 10_000), nullable=True),
        "reviewed_on": Field(date, nullable=True),
    }
)

PAGING: Mapping[str, Rule] = {"limit": limit, "cursor": cursor, "today": date}
TASK_FILTERS: Mapping[str, Rule] = {
    "status": one_of(TASK_STATUSES),
    "project_id": uuid,
    "context": context,
    "deferred": flag,
    "blocked": flag,
    "available": flag,
    # The match itself (ASCII case-insensitive substring) is the Store's.
    "q": text(1, 200),
    **PAGING,
}
PROJECT_FILTERS: Mapping[str, Rule] = {"status": one_of(PROJECT_STATUSES), **PAGING}
TODAY_ONLY: Mapping[str, Rule] = {"today": date}


def parse_query(pairs: list[tuple[str, str]], rules: Mapping[str, Rule], *, strict: bool = True) -> dict[str, Any]:
    """Query parameters (URLSearchParams semantics): repeated or invalid ones are 422, and so
    are unknown ones unless not `strict` (the single-resource routes ignore them, as in v1)."""
    out: dict[str, Any] = {}
    seen: dict[str, list[str]] = {}
    for key, value in pairs:
        seen.setdefault(key, []).append(value)
    for key, values in seen.items():
        if key not in rules:
            if not strict:
                continue
            raise invalid(key, f"unknown query parameter '{key}'")
        if len(values) > 1:
            raise invalid(key, f"{key} may be given only once")
        out[key] = rules[key](values[0], key)
    return out
