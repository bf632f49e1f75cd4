"""Recurring tasks: the RRULE subset of contract v2 (RFC 5545 §3.3.10 value syntax,
without the `RRULE:` prefix) and the date a rule gives after an anchor date.

    rule = parse_rule("BYDAY=WE,MO;FREQ=WEEKLY")   # None when not in the subset
    rule.canonical()                               # "FREQ=WEEKLY;BYDAY=MO,WE"
    next_date(rule, "2026-12-02")                  # "2026-12-07"

The same rules as backends/shared/src/rrule.ts. Dates are `YYYY-MM-DD` strings.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["MAX_RULE_LENGTH", "Rule", "next_date", "parse_rule"]

MAX_RULE_LENGTH = 100
FREQS = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
NAMES = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY")
# Decimal without sign or leading zeros: one spelling per number.
_NUMBER_RE = re.compile(r"[1-9][0-9]{0,2}")


@dataclass(frozen=True)
class Rule:
    freq: str
    interval: int = 1
    #: Weekdays as 0 = Monday … 6 = Sunday, ascending and distinct; only with WEEKLY.
    by_day: tuple[int, ...] | None = None
    #: 1..31; only with MONTHLY.
    by_month_day: int | None = None

    def canonical(self) -> str:
        """The served form: FREQ, INTERVAL (omitted when 1), BYDAY in MO..SU order, BYMONTHDAY."""
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.by_day is not None:
            parts.append("BYDAY=" + ",".join(WEEKDAYS[d] for d in self.by_day))
        if self.by_month_day is not None:
            parts.append(f"BYMONTHDAY={self.by_month_day}")
        return ";".join(parts)


def _bounded(value: str, high: int) -> int | None:
    return int(value) if _NUMBER_RE.fullmatch(value) and int(value) <= high else None


def parse_rule(text: str) -> Rule | None:
    """The rule, or None when `text` is not in the subset (unknown or repeated part, bad value...)."""
    if not 0 < len(text) <= MAX_RULE_LENGTH:
        return None
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        # An empty part (a trailing ";"), no "=", an unknown or lowercase name, a repeat: refused.
        if not eq or name not in NAMES or name in parts:
            return None
        parts[name] = value
    freq = parts.get("FREQ")
    if freq not in FREQS:
        return None
    interval = 1
    if "INTERVAL" in parts:
        parsed = _bounded(parts["INTERVAL"], 365)
        if parsed is None:
            return None
        interval = parsed
    by_day: tuple[int, ...] | None = None
    if "BYDAY" in parts:
        days = parts["BYDAY"].split(",")
        if freq != "WEEKLY" or any(d not in WEEKDAYS for d in days) or len(set(days)) != len(days):
            return None
        by_day = tuple(sorted(WEEKDAYS.index(d) for d in days))
    by_month_day: int | None = None
    if "BYMONTHDAY" in parts:
        by_month_day = _bounded(parts["BYMONTHDAY"], 31) if freq == "MONTHLY" else None
        if by_month_day is None:
            return None
    return Rule(freq, interval, by_day, by_month_day)


def _month_length(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def next_date(rule: Rule, anchor: str) -> str:
    """The date after `anchor` that the rule gives (contract v2 §5, next(anchor)).

    Raises ValueError when that date is outside years 1-9999 (no such `YYYY-MM-DD`).
    """
    try:
        return _next(rule, date.fromisoformat(anchor)).isoformat()
    except OverflowError as exc:  # date arithmetic past 9999-12-31
        raise ValueError(str(exc)) from None


def _next(rule: Rule, day: date) -> date:
    if rule.freq == "DAILY":
        result = day + timedelta(days=rule.interval)
    elif rule.freq == "WEEKLY":
        result = _next_weekly(rule, day)
    elif rule.freq == "MONTHLY":
        result = _next_monthly(rule, day)
    else:
        # 29 Feb in a year without one: 28 Feb (clamped like MONTHLY).
        year = day.year + rule.interval
        result = date(year, day.month, min(day.day, _month_length(year, day.month)))
    return result


def _next_weekly(rule: Rule, day: date) -> date:
    if rule.by_day is None:
        return day + timedelta(days=7 * rule.interval)
    weekday = day.weekday()
    later = [d for d in rule.by_day if d > weekday]
    if later:
        return day + timedelta(days=later[0] - weekday)
    # Weeks start on Monday: the first listed day of the week 7·INTERVAL days after this one.
    monday = day - timedelta(days=weekday)
    return monday + timedelta(days=7 * rule.interval + rule.by_day[0])


def _next_monthly(rule: Rule, day: date) -> date:
    wanted = rule.by_month_day or day.day
    if rule.by_month_day is not None:
        this_month = min(wanted, _month_length(day.year, day.month))
        if this_month > day.day:
            return day.replace(day=this_month)
    months = day.year * 12 + (day.month - 1) + rule.interval
    year, month = divmod(months, 12)
    month += 1
    # Clamped to the month's length: "on the 31st" falls on 30 Nov / 28 Feb (RFC 5545 would skip).
    return date(year, month, min(wanted, _month_length(year, month)))
