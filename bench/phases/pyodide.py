"""Phase 4: the gateway on the exact Pyodide build under Node (``harness/pyodide/bench.mjs``); its JSON is kept."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from bench.common import ROOT, log
from harness.process import tool_env

if TYPE_CHECKING:
    from bench.suite import Suite

SCRIPT = "harness/pyodide/bench.mjs"


def run(s: Suite) -> None:
    # tool_env puts node_modules/.bin (the project's node) first on PATH.
    env = tool_env(
        {
            "BENCH_UPSTREAM_URL": s.upstream_url,
            "BENCH_QUICK": "1" if s.args.quick else "0",
            "BENCH_DURATION_S": str(s.args.duration),
        }
    )
    log(f"pyodide: node --experimental-wasm-stack-switching {SCRIPT}")
    try:
        p = subprocess.run(
            ["node", "--experimental-wasm-stack-switching", SCRIPT],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=s.args.pyodide_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        s.results["pyodide"] = {"error": f"timed out after {s.args.pyodide_timeout}s"}
        return
    parsed = last_json(p.stdout)
    s.results["pyodide"] = {
        "exit_code": p.returncode,
        "result": parsed,
        **({} if parsed is not None else {"stdout_tail": p.stdout[-2000:]}),
        **({"stderr_tail": p.stderr[-2000:]} if p.returncode else {}),
    }


def last_json(stdout: str) -> Any:
    """The whole output as JSON, else its last line that parses; None when nothing does."""
    try:
        return json.loads(stdout)
    except ValueError:
        for ln in reversed(stdout.strip().splitlines()):
            try:
                return json.loads(ln)
            except ValueError:
                continue
    return None
