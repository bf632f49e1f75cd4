"""`make bench-lighthouse`: Lighthouse, mobile and desktop, on the inbox with 10,000 tasks in the backend.

    .venv/bin/python -m bench.lighthouse              # 3 runs per preset, median
    .venv/bin/python -m bench.lighthouse --runs 1     # a quick look

Starts bun-sqlite on a fresh database, the gateway twin and the built
frontend (standalone server) with the harness.services recipes, imports the
10,000-task document of gtd_data.sample (as bench-backends does) through the gateway
(``POST /import``), then runs Lighthouse 12 (bench/lighthouse/node_modules,
``npm ci`` there first) on the inbox page with Debian's Chromium: the default
(mobile) config and ``--preset=desktop``, alternating, ``--runs`` times each.
Prints the median scores (performance, accessibility, best practices, SEO) and
LCP, TBT, CLS, total bytes and DOM size per preset, with what Lighthouse
flags in the median run; writes bench/results/lighthouse.json (the full
reports of the median runs go to bench/results/lighthouse/, git-ignored).
The target (issue #24) is performance ≥ 95: printed, not asserted.

The run holds /tmp/gtd-frontend.lock from the build to the end, so no other
build replaces the standalone server's files while it serves.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from gtd_data.sample import document

from bench.common import RESULTS, drop_workdir, install_signal_handlers, log, make_workdir
from harness import services
from harness.process import Service, free_port, start_healthy, tool_env

HERE = Path(__file__).resolve().parent
LIGHTHOUSE = HERE / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROME = os.environ.get("CHROME_PATH", "/usr/lib/chromium/chromium")
# headless=new is the real browser without a window; --no-sandbox because the bench runs as root here.
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PRESETS = ("mobile", "desktop")
LOCK = Path("/tmp/gtd-frontend.lock")
START_TIMEOUT_S = 120.0
LIGHTHOUSE_TIMEOUT_S = 300.0
TARGET = 95
#: Metrics kept per run: (name in the result, audit id, unit).
METRICS = (
    ("lcp_ms", "largest-contentful-paint", "ms"),
    ("fcp_ms", "first-contentful-paint", "ms"),
    ("tbt_ms", "total-blocking-time", "ms"),
    ("cls", "cumulative-layout-shift", ""),
    ("speed_index_ms", "speed-index", "ms"),
    ("total_bytes", "total-byte-weight", "B"),
    ("dom_size", "dom-size", "elements"),
)


@contextmanager
def frontend_lock() -> Iterator[None]:
    """Hold the lock every frontend build and browser run takes (docs: the shared machine's rules)."""
    with LOCK.open("a") as handle:
        log(f"waiting for {LOCK}")
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def running_app(workdir: Path) -> Iterator[tuple[str, str]]:
    """bun-sqlite (fresh data), the gateway twin and the frontend; (gateway URL, frontend URL)."""
    logs = workdir / "logs"
    with ExitStack() as stop:
        bun_port = free_port()
        _start(stop, services.bun_sqlite(bun_port, workdir / "bun-sqlite", logs))
        gateway_port = free_port()
        settings = {
            "ENVIRONMENT": "local",
            "BACKEND_BUN_SQLITE_URL": f"http://127.0.0.1:{bun_port}",
            "DEFAULT_BACKEND": "bun-sqlite",
            "HEALTH_TTL_S": "30",
        }
        _start(stop, services.twin(gateway_port, settings, logs / "gateway.log"))
        gateway = f"http://127.0.0.1:{gateway_port}"
        frontend_port = free_port()
        _start(stop, services.frontend(frontend_port, gateway, logs))
        yield gateway, f"http://127.0.0.1:{frontend_port}"


def _start(stop: ExitStack, service: Service) -> None:
    log(f"starting {service.name}")
    start_healthy(service, START_TIMEOUT_S)
    stop.callback(service.stop, grace_s=10)


def import_document(gateway: str, tasks: int) -> dict[str, Any]:
    """``POST /import`` of gtd_data.sample.document(tasks) into bun-sqlite through the gateway; its /counts after."""
    body = json.dumps(document(tasks)).encode()
    headers = {"x-backend": "bun-sqlite", "content-type": "application/json"}
    with httpx.Client(timeout=600) as client:
        started = time.perf_counter()
        answer = client.post(gateway + "/import", content=body, headers=headers)
        if answer.status_code >= 400:
            raise SystemExit(f"import: {answer.status_code} {answer.text[:300]}")
        log(f"imported {tasks} tasks ({len(body) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
        today = time.strftime("%Y-%m-%d")
        counts: dict[str, Any] = client.get(gateway + f"/counts?today={today}", headers=headers).json()
    return counts


def lighthouse(url: str, preset: str, out: Path, logs: Path) -> dict[str, Any]:
    """One Lighthouse run of ``url`` (``mobile``: the default config; ``desktop``: ``--preset=desktop``)."""
    argv = [
        "node", str(LIGHTHOUSE), url,
        "--output=json", f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]  # fmt: skip
    if preset == "desktop":
        argv.append("--preset=desktop")
    with (logs / f"lighthouse-{preset}.log").open("ab") as log:
        done = subprocess.run(
            argv, env=tool_env({"CHROME_PATH": CHROME}), stdout=log, stderr=log, timeout=LIGHTHOUSE_TIMEOUT_S
        )
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"lighthouse {preset} exited {done.returncode}: see {logs / f'lighthouse-{preset}.log'}")
    report: dict[str, Any] = json.loads(out.read_text())
    if report.get("runtimeError"):
        raise SystemExit(f"lighthouse {preset}: {report['runtimeError']}")
    return report


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """Scores (0–100) and metrics of one report."""
    row: dict[str, Any] = {category: round(report["categories"][category]["score"] * 100) for category in CATEGORIES}
    for name, audit, _unit in METRICS:
        value = report["audits"][audit].get("numericValue")
        if value is not None:
            value = round(value, 3) if name == "cls" else round(value)
        row[name] = value
    return row


def findings(report: dict[str, Any]) -> dict[str, Any]:
    """What to look at when a score is low: audits under 0.9, the largest transfers, the LCP element."""
    flagged = []
    for audit in report["audits"].values():
        score = audit.get("score")
        if (
            score is not None
            and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
            and score < 0.9
        ):
            flagged.append({"id": audit["id"], "title": audit["title"], "display": audit.get("displayValue", "")})
    requests = report["audits"].get("network-requests", {}).get("details", {}).get("items", [])
    largest = sorted(requests, key=lambda item: item.get("transferSize", 0), reverse=True)[:6]
    # Lighthouse 12.2 cannot always read newer Chromium's traces for this audit: keep its error then.
    lcp_audit = report["audits"].get("largest-contentful-paint-element", {})
    lcp_element = lcp_audit.get("errorMessage", "")
    for table in lcp_audit.get("details", {}).get("items", []):
        for item in table.get("items", []):
            if isinstance(item.get("node"), dict):
                lcp_element = item["node"].get("snippet", "")
                break
    return {
        "flagged": flagged,
        "largest": [
            {"url": item["url"], "type": item.get("resourceType"), "transfer_bytes": item.get("transferSize", 0)}
            for item in largest
        ],
        "lcp_element": lcp_element,
        "warnings": report.get("runWarnings", []),
    }


def median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs (3 runs: the middle one)."""
    result: dict[str, Any] = {}
    for key in rows[0]:
        values = [row[key] for row in rows if row[key] is not None]
        result[key] = statistics.median(values) if values else None
    return result


def markdown(document: dict[str, Any]) -> str:
    """The table for docs/benchmarks.md."""
    lines = [
        f"Lighthouse {document['lighthouse']} on the inbox, {document['tasks']:,} tasks in bun-sqlite "
        f"(median of {document['runs']} runs; target performance ≥ {TARGET}, not asserted)",
        "",
        "| preset | performance | accessibility | best practices | SEO | LCP (ms) | TBT (ms) | CLS | total (KiB) | DOM elements |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for preset, result in document["presets"].items():
        m = result["median"]
        lines.append(
            f"| {preset} | {m['performance']:.0f} | {m['accessibility']:.0f} | {m['best-practices']:.0f} | "
            f"{m['seo']:.0f} | {m['lcp_ms']:.0f} | {m['tbt_ms']:.0f} | {m['cls']:.3f} | "
            f"{m['total_bytes'] / 1024:.0f} | {m['dom_size']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def explain(document: dict[str, Any]) -> str:
    """Per preset: the performance range over the runs and what Lighthouse flags in the median run."""
    out = []
    for preset, result in document["presets"].items():
        scores = [run["performance"] for run in result["runs"]]
        out.append(f"{preset}: performance per run {scores}; LCP element: {result['findings']['lcp_element'][:160]}")
        for item in result["findings"]["flagged"]:
            out.append(f"  flagged: {item['title']} {item['display']}".rstrip())
        for item in result["findings"]["largest"]:
            out.append(f"  {item['transfer_bytes'] / 1024:7.1f} KiB  {item['type']}  {item['url']}")
        for warning in result["findings"]["warnings"]:
            out.append(f"  warning: {warning}")
    return "\n".join(out) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.lighthouse", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per preset (default 3)")
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks imported (default 10000)")
    parser.add_argument("--path", default="/", help="the page (default /, the inbox)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default bench/results)")
    parser.add_argument("--keep-workdir", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: `cd bench/lighthouse && npm ci` (make bench-lighthouse does)")
    if not Path(CHROME).exists():
        raise SystemExit(f"{CHROME} is missing: apt-get install -y chromium (or set CHROME_PATH)")
    install_signal_handlers()
    workdir = make_workdir("bench-lighthouse-")
    reports = args.out / "lighthouse"
    reports.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        with frontend_lock():
            services.build_frontend(workdir / "logs")
            with running_app(workdir) as (gateway, frontend):
                counts = import_document(gateway, args.tasks)
                log(f"counts: {counts}")
                url = frontend + args.path
                # One request first, so the runs measure the page and not the server's first render.
                httpx.get(url, timeout=60).raise_for_status()
                runs: dict[str, list[dict[str, Any]]] = {preset: [] for preset in PRESETS}
                version = ""
                for index in range(args.runs):
                    for preset in PRESETS if index % 2 == 0 else PRESETS[::-1]:
                        path = workdir / f"{preset}-{index}.json"
                        report = lighthouse(url, preset, path, workdir / "logs")
                        version = report["lighthouseVersion"]
                        runs[preset].append({"file": path, "report": report, "row": figures(report)})
                        log(f"{preset} run {index + 1}: {runs[preset][-1]['row']}")
        presets = {}
        for preset, items in runs.items():
            # The median run by performance score, for its findings and full report.
            middle = sorted(items, key=lambda item: item["row"]["performance"])[len(items) // 2]
            shutil.copyfile(middle["file"], reports / f"{preset}.report.json")
            presets[preset] = {
                "median": median_row([item["row"] for item in items]),
                "runs": [item["row"] for item in items],
                "findings": findings(middle["report"]),
            }
        document = {
            "kind": "bench-lighthouse",
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "wall_s": round(time.time() - started, 1),
            "lighthouse": version,
            "chrome": CHROME,
            "browser": report["environment"]["hostUserAgent"],
            "page": args.path,
            "tasks": args.tasks,
            "inbox": counts.get("tasks", {}).get("inbox"),
            "runs": args.runs,
            "target_performance": TARGET,
            "presets": presets,
        }
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "lighthouse.json"
        path.write_text(json.dumps(document, indent=2) + "\n")
        log(f"wrote {path} (full reports of the median runs in {reports})")
        print(markdown(document))
        print(explain(document))
    finally:
        drop_workdir(workdir, args.keep_workdir)
    return 0
