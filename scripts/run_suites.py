"""Run the test suites as four pytest processes side by side, then print where the time went.

    .venv/bin/python scripts/run_suites.py            # what `make test` runs
    .venv/bin/python scripts/run_suites.py --serial   # one after the other (to compare)

Why side by side: most of the suites' time is spent waiting -- the Docker
suite (tests/system/docker) on image builds and containers, the browser suite
(tests/system/browser) on servers, pages and the outages it stages, the contract
suite (tests/contract: every case on thirteen targets) and the rest on the
servers they start -- so on two cores the user and system CPU of a whole run
is well under one core's worth of its wall time (docs/benchmarks.md, "make
test"). The four groups share no process, port or data folder: every server
runs on a free port with temporary data, and the Docker suite has its own
engine. The one thing two suites would both build, the web app
(tests/system/browser, tests/system/tools/test_devstack.py), is built once before they
start (``harness.services.build_frontend``, a no-op when it is up to date).

The main group streams to the terminal; the others write to
``.cache/test-results/<group>.log``, printed after the main group ends. At
the end: a table of suites (a level under tests/, and for the unit and system
levels each folder in it: ``system/browser``) with their test count,
failures and summed test time (setup + call + teardown, from JUnit XML), each
group's wall time, and one closing line ``total: N passed, N failed, N
skipped``. The exit status is non-zero when any group failed or no test ran.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / ".cache" / "test-results"
#: How often the runner looks whether a group has ended (its wall time is read then).
POLL_S = 0.5


@dataclass
class Group:
    """One pytest process: its arguments, and whether its output streams live."""

    name: str
    args: list[str]
    live: bool
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    wall_s: float = 0.0
    log: Path = field(init=False)
    junit: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = RESULTS / f"{self.name}.log"
        self.junit = RESULTS / f"{self.name}.xml"

    def start(self, extra: list[str]) -> None:
        # --durations: the slowest setups (fixtures that start stacks) and calls, in each group's output.
        argv = [sys.executable, "-m", "pytest", *self.args, f"--junitxml={self.junit}", "--durations=15", *extra]
        self.started = time.monotonic()
        out = None if self.live else open(self.log, "wb")  # noqa: SIM115 — closed when the process ends
        self.process = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT if out else None)
        if out is not None:
            out.close()  # the child holds its own descriptor

    def poll(self) -> int | None:
        """The exit status once the process has ended (its wall time recorded then), else None."""
        assert self.process is not None
        code = self.process.poll()
        if code is not None and not self.wall_s:
            self.wall_s = time.monotonic() - self.started
        return code


#: Two long single tests, placed to even out the groups' wall times (docs/benchmarks.md, "make test"):
#: the backends' own unit suites (pytest with its PostgreSQL, ExUnit, minitest, bun test) and the quick bench.
BACKEND_UNITS = "tests/contract/test_backend_units.py"
BENCH = "tests/system/bench"
#: Levels whose folders are reported one by one (tests/README.md).
SPLIT_LEVELS = ("unit", "system")


def groups() -> list[Group]:
    return [
        Group(
            "main",
            [
                "tests",
                "--ignore=tests/system/docker",
                "--ignore=tests/system/browser",
                "--ignore=tests/contract",
                f"--ignore={BENCH}",
            ],
            live=True,
        ),
        Group("contract", ["tests/contract", f"--ignore={BACKEND_UNITS}"], live=False),
        Group("docker", ["tests/system/docker", BACKEND_UNITS], live=False),
        Group("browser", ["tests/system/browser", BENCH], live=False),
    ]


def prepare() -> None:
    """Build what two groups would otherwise both build at once (the web app), once, before they start."""
    sys.path.insert(0, str(REPO))  # harness/, also without the editable install
    from harness.services import build_frontend

    print("building the web app if it changed (log: .cache/test-results/frontend-build.log)", flush=True)
    build_frontend(RESULTS)


@dataclass
class Suite:
    tests: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0


def read_junit(path: Path) -> dict[str, Suite]:
    """Per suite (``tests/<level>``, or ``tests/<level>/<folder>`` for SPLIT_LEVELS): counts and summed time."""
    suites: dict[str, Suite] = defaultdict(Suite)
    if not path.exists():
        return suites
    for case in ET.parse(path).getroot().iter("testcase"):
        # classname is dotted: tests.contract.test_tasks.TestX → "contract";
        # tests.system.browser.test_app → "system/browser"; tests.unit.gateway.test_app → "unit/gateway"
        parts = (case.get("classname") or "").split(".")
        name = parts[1] if len(parts) > 1 and parts[0] == "tests" else parts[0] or "?"
        if name in SPLIT_LEVELS and len(parts) > 3 and not parts[2].startswith("test_"):
            name = f"{name}/{parts[2]}"
        suite = suites[name]
        suite.tests += 1
        suite.seconds += float(case.get("time") or 0)
        if case.find("failure") is not None or case.find("error") is not None:
            suite.failed += 1
        elif case.find("skipped") is not None:
            suite.skipped += 1
    return suites


def report(done: list[Group], codes: dict[str, int], total_wall: float, prepare_s: float) -> int:
    rows: dict[str, Suite] = defaultdict(Suite)
    for group in done:  # a suite may be split over groups (BACKEND_UNITS): add its parts up
        for name, part in read_junit(group.junit).items():
            row = rows[name]
            row.tests += part.tests
            row.failed += part.failed
            row.skipped += part.skipped
            row.seconds += part.seconds
    print("\n=== time by suite (summed test time; groups run side by side) ===")
    print(f"{'suite':<20} {'tests':>6} {'failed':>6} {'skipped':>7} {'seconds':>8}")
    for name, suite in sorted(rows.items(), key=lambda item: -item[1].seconds):
        print(f"{name:<20} {suite.tests:>6} {suite.failed:>6} {suite.skipped:>7} {suite.seconds:>8.1f}")
    for group in done:
        print(f"group {group.name:<8} wall {group.wall_s:7.1f} s  exit {codes[group.name]}")
    print(f"web app build before the groups {prepare_s:.1f} s; all groups wall {total_wall:.1f} s")
    started = os.environ.get("GTD_TEST_STARTED")  # .ci/run: the epoch second it started (setup, lint before this)
    if started:
        print(f"since .ci/run started {time.time() - float(started):.1f} s")
    tests = sum(suite.tests for suite in rows.values())
    failed = sum(suite.failed for suite in rows.values())
    skipped = sum(suite.skipped for suite in rows.values())
    print(f"total: {tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
    bad = [name for name, code in codes.items() if code != 0]
    if bad or tests == 0:
        print(f"failed groups: {', '.join(bad) or 'none ran a test'}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serial", action="store_true", help="run the groups one after the other")
    parser.add_argument("pytest_args", nargs="*", help="passed to every pytest process (after --)")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    todo = groups()
    codes: dict[str, int] = {}
    prepare()
    prepare_s = time.monotonic() - started
    if args.serial:
        for group in todo:
            group.live = True
            group.start(args.pytest_args)
            while (code := group.poll()) is None:
                time.sleep(POLL_S)
            codes[group.name] = code
    else:
        for group in todo:
            group.start(args.pytest_args)
        while len(codes) < len(todo):
            for group in todo:
                if group.name not in codes and (code := group.poll()) is not None:
                    codes[group.name] = code
            time.sleep(POLL_S)
        for group in todo:
            if not group.live:
                print(f"\n=== {group.name} group output ({group.log}) ===", flush=True)
                sys.stdout.write(group.log.read_text(errors="replace"))
    return report(todo, codes, time.monotonic() - started, prepare_s)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
