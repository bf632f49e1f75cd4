"""The twin as a real process for tests, on ``devstack``'s one way of running processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from harness.process import REPO as ROOT
from harness.process import Service, ServiceError, free_port, start_healthy
from harness.services import twin

__all__ = ["ROOT", "WORKER_START_S", "Twin", "free_port", "kv_cli", "run_twin", "running_twin", "start_or_fail", "twin"]

START_TIMEOUT_S = 20.0
#: How long a Worker (wrangler dev, or Miniflare, on workerd) may take to start, for every suite: it loads
#: Pyodide first (7–12 s quiet, 30 s and more when suites run side by side on two cores). A deadline, never a figure.
WORKER_START_S = 120.0


class Twin:
    """A running twin: its URL, its service, and where its output goes."""

    def __init__(self, service: Service, url: str) -> None:
        self.service = service
        self.url = url

    @property
    def proc(self):  # the Popen, for tests that watch the process itself
        return self.service.process

    def output(self) -> str:
        return self.service.output()

    def log_lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if line.startswith("{")]

    def rss_peak_kib(self) -> int:
        """VmHWM of the twin: the peak resident set size so far."""
        for line in Path(f"/proc/{self.service.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 15.0) -> int | None:
        self.service.stop_signal = sig
        return self.service.stop(grace_s=timeout_s)


@contextmanager
def running_twin(env: Mapping[str, str], tmp_path: Path, *extra: str) -> Iterator[Twin]:
    """Start the twin with exactly ``env``, wait for its health endpoint, stop it after."""
    port = free_port()
    service = twin(port, env, tmp_path / f"twin-{port}.log", extra)
    try:
        start_healthy(service, START_TIMEOUT_S)
    except ServiceError as exc:
        raise RuntimeError(f"twin did not start: {exc}") from None
    try:
        yield Twin(service, f"http://127.0.0.1:{port}")
    finally:
        service.stop()


def run_twin(env: Mapping[str, str], *args: str, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m local_runner`` with exactly ``env`` and ``args`` to completion (a start-up failure)."""
    service = twin(free_port(), env, Path(os.devnull), args)
    return subprocess.run(
        list(service.argv), cwd=ROOT, env=dict(service.env), capture_output=True, text=True, timeout=timeout_s
    )


def kv_cli(kv_path: Path, *args: str) -> None:
    """``python -m local_runner kv --kv-path FILE …``, the twin's ``wrangler kv key``."""
    service = twin(0, {}, Path(os.devnull))
    argv = [sys.executable, "-m", "local_runner", "kv", "--kv-path", str(kv_path), *args]
    subprocess.run(argv, cwd=ROOT, env=dict(service.env), check=True, timeout=30)


def start_or_fail(service: Service, timeout_s: float) -> Service:
    """Start ``service`` and wait until healthy; a failure fails the tests that need it, with its log."""
    import pytest

    try:
        return start_healthy(service, timeout_s)
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
