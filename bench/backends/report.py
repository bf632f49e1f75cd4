"""Figures, Markdown and charts for bench.backends.run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.backends.workload import CellRun

PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def _figures(latencies: list[float], errors: int, wall_s: float) -> dict[str, Any]:
    values = sorted(latencies)
    figures: dict[str, Any] = {
        "requests": len(values),
        "errors": errors,
        "req_s": round(len(values) / wall_s, 1) if wall_s else 0.0,
        "mean_ms": round(sum(values) / len(values) * 1000, 3) if values else 0.0,
        "max_ms": round(values[-1] * 1000, 3) if values else 0.0,
    }
    for pct in PERCENTILES:
        figures[f"p{pct}_ms"] = round(percentile(values, pct) * 1000, 3)
    return figures


def summarise(cells: dict[tuple[str, str, str, int], list[CellRun]]) -> dict[str, Any]:
    """Per cell (all operations) and per operation, the rounds pooled; plus the gateway's added latency."""
    rows: list[dict[str, Any]] = []
    operations: list[dict[str, Any]] = []
    for (profile, backend, via, concurrency), runs in sorted(cells.items()):
        wall = sum(r.wall_s for r in runs)
        cpu = sum(r.client_cpu_s for r in runs)
        every: list[float] = []
        errors = completed = 0
        per_op: dict[str, tuple[list[float], int]] = {}
        for run in runs:
            for name, sample in run.samples.items():
                latencies, errs = per_op.get(name, ([], 0))
                latencies.extend(sample.latencies)
                per_op[name] = (latencies, errs + sample.errors)
                every.extend(sample.latencies)
                errors += sample.errors
                completed += sample.completed
        key = {"profile": profile, "backend": backend, "via": via, "concurrency": concurrency}
        rows.append(
            {
                **key,
                **_figures(every, errors, wall),
                "completed": completed,
                "wall_s": round(wall, 2),
                "rounds": len(runs),
                "client_cpu_pct": round(cpu / wall * 100, 1) if wall else 0.0,
            }
        )
        for name, (latencies, errs) in sorted(per_op.items()):
            operations.append({**key, "operation": name, **_figures(latencies, errs, wall)})
    return {"cells": rows, "operations": operations, "gateway_added": gateway_added(rows)}


def gateway_added(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """p50/p99 through the gateway minus direct, per backend, profile and concurrency."""
    direct = {(r["profile"], r["backend"], r["concurrency"]): r for r in rows if r["via"] == "direct"}
    added = []
    for row in rows:
        if row["via"] != "gateway":
            continue
        base = direct.get((row["profile"], row["backend"], row["concurrency"]))
        if base is None:
            continue
        added.append(
            {
                "profile": row["profile"],
                "backend": row["backend"],
                "concurrency": row["concurrency"],
                "added_p50_ms": round(row["p50_ms"] - base["p50_ms"], 3),
                "added_p99_ms": round(row["p99_ms"] - base["p99_ms"], 3),
                "throughput_ratio": round(row["req_s"] / base["req_s"], 3) if base["req_s"] else None,
            }
        )
    return added


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    s = doc["settings"]
    lines = [
        f"# Backends benchmark ({doc['mode']}, {doc['started_at']})",
        "",
        f"Machine: {m['cpu_model']} × {m['cpus']} CPUs, {m['memory_gib']} GiB, {m['platform']}, Python {m['python']}.",
        f"Dataset: {s['tasks']} tasks, {s['projects']} projects per backend (seeded in {doc['seed_s']} s in total). "
        f"{s['rounds']} round(s) × {s['duration_s']} s per cell; closed loop, concurrency {s['concurrency']}.",
        f"Load client: {m['load_client']}; its CPU share is `client CPU` (100 % = one core of {m['cpus']}).",
        "",
        "## All operations, per backend",
        "",
        "| profile | backend | via | c | req/s | p50 ms | p99 ms | errors | client CPU |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in doc["cells"]:
        lines.append(
            f"| {r['profile']} | {r['backend']} | {r['via']} | {r['concurrency']} | {r['req_s']:,.0f} | "
            f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | {r['client_cpu_pct']:.0f} % |"
        )
    lines += [
        "",
        "## Latency the gateway adds (through the gateway − direct)",
        "",
        "| profile | backend | c | p50 + ms | p99 + ms | req/s ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for a in doc["gateway_added"]:
        ratio = "–" if a["throughput_ratio"] is None else f"{a['throughput_ratio']:.2f}"
        lines.append(
            f"| {a['profile']} | {a['backend']} | {a['concurrency']} | {a['added_p50_ms']:+.2f} | "
            f"{a['added_p99_ms']:+.2f} | {ratio} |"
        )
    middle = sorted({r["concurrency"] for r in doc["cells"]})[len({r["concurrency"] for r in doc["cells"]}) // 2]
    lines += [
        "",
        f"## Per operation, concurrency {middle}",
        "",
        "| profile | backend | via | operation | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for o in doc["operations"]:
        if o["concurrency"] == middle:
            lines.append(
                f"| {o['profile']} | {o['backend']} | {o['via']} | {o['operation']} | {o['req_s']:,.0f} | "
                f"{o['p50_ms']:.2f} | {o['p99_ms']:.2f} | {o['errors']} |"
            )
    return "\n".join(lines) + "\n"


def charts(doc: dict[str, Any], out: Path) -> list[Path]:
    """Throughput per backend per profile; latency distribution per operation (boxes from percentiles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    written: list[Path] = []
    profiles = list(doc["settings"]["profiles"])
    backends = doc["settings"]["backends"]
    concurrencies = doc["settings"]["concurrency"]
    by_key = {(r["profile"], r["backend"], r["via"], r["concurrency"]): r for r in doc["cells"]}

    fig, axes = plt.subplots(1, len(profiles), figsize=(6.5 * len(profiles), 4.2), squeeze=False)
    series = [(via, c) for c in concurrencies for via in ("direct", "gateway")]
    width = 0.8 / len(series)
    colours = matplotlib.colormaps["tab20"].colors  # type: ignore[attr-defined]  # a ListedColormap
    for ax, profile in zip(axes[0], profiles, strict=True):
        for i, (via, c) in enumerate(series):
            values = [by_key.get((profile, b, via, c), {}).get("req_s", 0) for b in backends]
            positions = [x + (i - len(series) / 2 + 0.5) * width for x in range(len(backends))]
            ax.bar(positions, values, width, label=f"{via} c{c}", color=colours[i % len(colours)])
        ax.set_xticks(range(len(backends)), backends)
        ax.set_title(f"{profile}: throughput")
        ax.set_ylabel("requests/s")
        ax.grid(axis="y", alpha=0.3)
    axes[0][-1].legend(fontsize=7, ncols=2)
    fig.suptitle(f"GTD workload, {doc['settings']['tasks']} tasks ({doc['mode']} run, {doc['started_at']})")
    fig.tight_layout()
    for ext in ("png", "svg"):
        path = out / f"backends-throughput.{ext}"
        fig.savefig(path, dpi=110)
        written.append(path)
    plt.close(fig)

    middle = sorted(concurrencies)[len(concurrencies) // 2]
    ops = sorted({o["operation"] for o in doc["operations"]})
    fig, axes = plt.subplots(len(profiles), 1, figsize=(13, 3.8 * len(profiles)), squeeze=False)
    for ax, profile in zip(axes[:, 0], profiles, strict=True):
        stats, positions, colour_of = [], [], []
        for i, op in enumerate(ops):
            for j, backend in enumerate(backends):
                row = next(
                    (
                        o
                        for o in doc["operations"]
                        if (o["profile"], o["backend"], o["via"], o["concurrency"], o["operation"])
                        == (profile, backend, "gateway", middle, op)
                    ),
                    None,
                )
                if row is None or not row["requests"]:
                    continue
                stats.append(
                    {
                        "whislo": row["p5_ms"],
                        "q1": row["p25_ms"],
                        "med": row["p50_ms"],
                        "q3": row["p75_ms"],
                        "whishi": row["p95_ms"],
                        "fliers": [row["p99_ms"]],
                        "label": "",
                    }
                )
                positions.append(i * (len(backends) + 1) + j)
                colour_of.append(colours[(2 * j) % len(colours)])
        if stats:
            boxes = ax.bxp(stats, positions=positions, patch_artist=True, showfliers=True, widths=0.7)
            for patch, colour in zip(boxes["boxes"], colour_of, strict=True):
                patch.set_facecolor(colour)
        ax.set_yscale("log")
        ax.set_xticks([i * (len(backends) + 1) + (len(backends) - 1) / 2 for i in range(len(ops))], ops)
        ax.set_ylabel("ms (log)")
        ax.set_title(
            f"{profile}: latency per operation through the gateway, c{middle} (box p25–p75, whiskers p5–p95, dot p99)"
        )
        ax.grid(axis="y", alpha=0.3)
        handles = [Rectangle((0, 0), 1, 1, color=colours[(2 * j) % len(colours)]) for j in range(len(backends))]
        ax.legend(handles, backends, fontsize=7, loc="upper right")
    fig.tight_layout()
    for ext in ("png", "svg"):
        path = out / f"backends-latency.{ext}"
        fig.savefig(path, dpi=110)
        written.append(path)
    plt.close(fig)
    return written


def write(doc: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "backends.json"
    json_path.write_text(json.dumps(doc, indent=1) + "\n")
    md_path = out / "backends.md"
    md_path.write_text(markdown(doc))
    return [json_path, md_path, *charts(doc, out)]
