"""The suite's targets, judged from the results: PASS/FAIL lines with the figures behind them.

Issue #15: the twin with every feature on at ≤ 50 µs CPU per request and ≤ 100 µs
added p50; issue #22: the gateway on workerd ≤ 1.5× the Python pass-through's
CPU and ≤ 5 µs per extra header.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bench import workerd_figures as wf
from bench.common import GiB
from bench.peers import label
from bench.request import EXTRA_HEADER_COUNT
from bench.stats import med, median, spread

#: Issue #22's targets: the gateway with a browser request ≤ 1.5× that floor; ≤ 5 µs per extra header.
WORKERD_GATEWAY_RATIO = 1.5
WORKERD_US_PER_HEADER = 5.0
#: Issue #15's targets for the twin with every feature on.
TWIN_CPU_US = 50
TWIN_ADDED_P50_US = 100

Target = dict[str, str]
#: Records one target: its name, whether it is met (None: not measured), the figures behind it.
Add = Callable[[str, bool | None, str], None]


def evaluate(r: dict[str, Any], args: argparse.Namespace) -> list[Target]:
    """Every target, in the order the report prints them."""
    targets: list[Target] = []

    def add(name: str, ok: bool | None, detail: str) -> None:
        targets.append({"name": name, "status": "PASS" if ok else "FAIL", "detail": detail})

    _workerd(r, args, add)
    _twin(r, args, add)
    return targets


def _workerd(r: dict[str, Any], args: argparse.Namespace, add: Add) -> None:
    if "rounds" not in r.get("workerd", {}):
        return
    ref = wf.reference(r)
    for c in map(str, args.concurrency):
        # Issue #22: against the on_fetch pass-through (the 1.2× of the Default one is retired).
        ratios = wf.ratios(r, "wd-gw-local", ref, c)
        name = f"workerd gateway (browser request) CPU/request ≤ {WORKERD_GATEWAY_RATIO}× {ref[3:]}'s, c{c}"
        if not ratios:
            add(name, False, "not measured")
        else:
            add(name, median(ratios) <= WORKERD_GATEWAY_RATIO, f"{spread(ratios, 2)}× over the rounds")
        for way in ("req", "resp"):
            slopes = wf.slopes(r, "wd-gw-local", f"wd-gw-local+{way}{EXTRA_HEADER_COUNT}", c)
            name = f"workerd gateway ≤ {WORKERD_US_PER_HEADER:.0f} µs per extra {way} header, c{c}"
            if not slopes:
                add(name, False, "not measured")
            else:
                add(name, median(slopes) <= WORKERD_US_PER_HEADER, f"{spread(slopes, 1)} µs over the rounds")


def _twin(r: dict[str, Any], args: argparse.Namespace, add: Add) -> None:
    main = r.get("main", {})
    servers = r.get("servers", {})

    def m(cfg: str, c: str, key: str) -> float | None:
        rows = main.get(cfg, {}).get(c, [])
        if key == "cpu_us_per_req":
            return median([x["cpu_s"].get("server", 0) / x["requests"] * 1e6 for x in rows]) if rows else None
        return med(rows, key) if rows else None

    def unavailable(cfg: str, where: dict[str, Any] | None = None) -> str:
        info = (where or servers).get(cfg, {})
        reason: str = info.get("reason") or "no results"
        return reason.splitlines()[0]

    twin_rps = m("twin", "32", "rps")
    for peer in ("aiohttp", "workerd"):
        peer_rps = m(peer, "32", "rps")
        name = f"twin req/s at c32 ≥ 1.0× {label(peer)}"
        if twin_rps is None or peer_rps is None:
            missing = "twin" if twin_rps is None else peer
            add(name, None, f"{missing} unavailable ({unavailable(missing)})")
        else:
            tc, pc = m("twin", "32", "cpu_us_per_req"), m(peer, "32", "cpu_us_per_req")
            assert tc is not None and pc is not None
            add(
                name,
                twin_rps >= peer_rps,
                f"{twin_rps:.0f} vs {peer_rps:.0f} req/s = {twin_rps / peer_rps:.2f}× "
                f"(per core of CPU: {tc:.0f} vs {pc:.0f} µs/request = {pc / tc:.2f}×)",
            )

    # Issue #15: half the CPU per request, and a c1 latency within 100 µs of direct.
    tc, ac, nc = (m(cfg, "32", "cpu_us_per_req") for cfg in ("twin", "aiohttp", "nginx"))
    name = f"twin CPU per request at c32 ≤ {TWIN_CPU_US} µs"
    if tc is None:
        add(name, None, f"twin unavailable ({unavailable('twin')})")
    else:
        peers = ", ".join(f"{label(p)} {c:.0f} µs" for p, c in (("aiohttp", ac), ("nginx", nc)) if c is not None)
        add(name, tc <= TWIN_CPU_US, f"{tc:.0f} µs ({peers})")

    t50, d50 = m("twin", "1", "p50_us"), m("direct", "1", "p50_us")
    name = f"twin added p50 at c1 ≤ {TWIN_ADDED_P50_US} µs over direct"
    if t50 is None or d50 is None:
        add(name, None, f"twin unavailable ({unavailable('twin')})")
    else:
        add(name, t50 - d50 <= TWIN_ADDED_P50_US, f"{t50:.0f} − {d50:.0f} = {t50 - d50:+.0f} µs")

    _stream(r, args, add)

    rows = [x for c in main.get("twin", {}).values() for x in c]
    name = "1.00 upstream hit per client request (twin, steady state)"
    if not rows:
        add(name, None, f"twin unavailable ({unavailable('twin')})")
    else:
        hits, reqs = sum(x["upstream_hits"] for x in rows), sum(x["requests"] for x in rows)
        ratio = hits / reqs
        add(name, round(ratio, 2) == 1.00, f"{hits} upstream hits / {reqs} requests = {ratio:.4f}")

    scale = r.get("scale", {})
    counts = args.scale_backends
    lo, hi = f"twin-{counts[0]}", f"twin-{counts[-1]}"
    name = f"p50 at {counts[-1]:,} backends ≤ 1.1× p50 at {counts[0]}"
    lo_rows, hi_rows = scale.get(lo, {}).get("1", []), scale.get(hi, {}).get("1", [])
    if not lo_rows or not hi_rows:
        missing = lo if not lo_rows else hi
        why = (
            unavailable(missing, r.get("scale_servers", {}))
            if r.get("scale_servers")
            else "scale phase skipped or twin unavailable"
        )
        add(name, None, f"{missing} unavailable ({why})")
    else:
        a, b = med(lo_rows, "p50_us"), med(hi_rows, "p50_us")
        add(name, b <= 1.1 * a, f"{b:.0f} vs {a:.0f} µs = {b / a:.2f}×")


def _stream(r: dict[str, Any], args: argparse.Namespace, add: Add) -> None:
    s = r.get("stream", {}).get("twin")
    name = f"twin streams {args.stream_bytes / GiB:.2f} GiB each way with peak RSS growth ≤ 64 MiB"
    if not s or not s.get("available"):
        reason = (
            (s or {}).get("reason") or r.get("stream", {}).get("error") or "stream phase skipped or twin unavailable"
        )
        add(name, None, f"twin unavailable ({reason.splitlines()[0]})")
        return
    up, down = s.get("up", {}), s.get("down", {})
    ok = (
        up.get("ok")
        and down.get("ok")
        and args.stream_bytes >= GiB
        and up.get("rss_growth_mib", 1e9) <= 64
        and down.get("rss_growth_mib", 1e9) <= 64
    )
    add(
        name,
        bool(ok),
        f"up {'ok' if up.get('ok') else 'FAILED ' + str(up.get('error', up.get('status')))} "
        f"{up.get('mib_s', 0):.0f} MiB/s +{up.get('rss_growth_mib', float('nan')):.1f} MiB; "
        f"down {'ok' if down.get('ok') else 'FAILED ' + str(down.get('error', down.get('status')))} "
        f"{down.get('mib_s', 0):.0f} MiB/s +{down.get('rss_growth_mib', float('nan')):.1f} MiB",
    )
