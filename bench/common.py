"""What every bench script shares: where things are, the log line, signals, one GET, a work folder and its end.

Starting, waiting for and stopping processes is ``harness.process``'s job; the
bench modules build only what measuring needs on top. Everything binds to
127.0.0.1 and every wait is bounded. Nothing in ``bench`` is used by the gateway.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
GiB = 2**30


def log(msg: str) -> None:
    """One progress line with the wall-clock time, flushed at once (runs take minutes)."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP end the run like Ctrl-C does, so `finally` blocks stop every service."""

    def _handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGHUP, _handler)


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    """Status and body of one GET; an HTTP error status is an answer here, not an exception."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def make_workdir(prefix: str) -> Path:
    """A fresh temporary folder for one run's configs, logs and data."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def drop_workdir(workdir: Path, keep: bool) -> None:
    """The end of a run's work folder: removed, or kept (``--keep-workdir``) and its path logged."""
    if keep:
        log(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
