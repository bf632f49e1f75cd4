"""Medians and ranges, the only statistics the reports print."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


def median(xs: Sequence[float]) -> float:
    """The median, NaN for no values (a missing figure prints as nan, not as a crash)."""
    return statistics.median(xs) if xs else float("nan")


def fmt_range(xs: Sequence[float], fmt: str = "{:.0f}") -> str:
    """``median (min–max)``, or ``-`` when there are no values."""
    if not xs:
        return "-"
    return f"{fmt.format(median(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"


def spread(values: Sequence[float], digits: int) -> str:
    """``median (min–max)`` of per-round values with ``digits`` decimals, or ``-`` when there are none."""
    return fmt_range(values, f"{{:.{digits}f}}")


def med(rows: list[dict[str, Any]], key: str) -> float:
    """The median of one field over result rows."""
    return median([r[key] for r in rows])
