"""The workerd phase's figures from saved results: CPU per request, round by round, as ratios and per-header slopes.

Workers of one round ran in the same workerd within seconds of each other, so
ratios are taken round by round (both in the same round), then summarised.
"""

from __future__ import annotations

from typing import Any

from bench.request import EXTRA_HEADER_COUNT
from bench.stats import median

#: The Python pass-through the workerd phase's ratios are taken against (the gateway's floor).
WORKERD_REF = "wd-py-onfetch"


def _rows(results: dict[str, Any], name: str, c: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = results.get("workerd", {}).get("rounds", {}).get(name, {}).get(c, [])
    return rows


def cpu_us(results: dict[str, Any], name: str, c: str) -> float | None:
    """The median workerd CPU µs per request of ``name`` at concurrency ``c``."""
    per_req = [r["cpu_s"]["server"] / r["requests"] * 1e6 for r in _rows(results, name, c) if r["requests"]]
    return median(per_req) if per_req else None


def round_cpu(results: dict[str, Any], name: str, c: str) -> dict[int, float]:
    """CPU µs per request of ``name`` in each round (round number → value)."""
    return {r["round"]: r["cpu_s"]["server"] / r["requests"] * 1e6 for r in _rows(results, name, c) if r["requests"]}


def ratios(results: dict[str, Any], name: str, ref: str, c: str) -> list[float]:
    """``name``'s CPU per request over ``ref``'s, round by round (both ran in the same round)."""
    mine, theirs = round_cpu(results, name, c), round_cpu(results, ref, c)
    return [mine[r] / theirs[r] for r in sorted(mine) if theirs.get(r)]


def slopes(results: dict[str, Any], base: str, variant: str, c: str) -> list[float]:
    """µs per extra header, round by round: (variant − base) / the number of extra headers."""
    mine, theirs = round_cpu(results, variant, c), round_cpu(results, base, c)
    return [(mine[r] - theirs[r]) / EXTRA_HEADER_COUNT for r in sorted(mine) if r in theirs]


def reference(results: dict[str, Any]) -> str:
    """WORKERD_REF, or the Default pass-through for runs saved before on_fetch's was measured."""
    rounds = results.get("workerd", {}).get("rounds", {})
    return WORKERD_REF if WORKERD_REF in rounds else "wd-py"
