"""Start the twin (``python -m local_runner``) as a real process for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, *, timeout_s: float = 20.0, proc: subprocess.Popen | None = None, what: str = "") -> None:
    """Poll ``url`` until it answers 200, the deadline passes, or ``proc`` exits."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what or 'process'} exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s ({last!r})")


class Twin:
    """A running twin: its URL, process, and where its output goes."""

    def __init__(self, proc: subprocess.Popen, url: str, log_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if line.startswith("{")]

    def rss_peak_kib(self) -> int:
        """VmHWM of the twin: the peak resident set size so far."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def twin_command(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "local_runner", "--host", "127.0.0.1", "--port", str(port), *extra]


def twin_env(env: Mapping[str, str]) -> dict[str, str]:
    """A clean environment: only what the test gives, plus what Python needs."""
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    base["PYTHONPATH"] = f"{ROOT / 'src'}{os.pathsep}{ROOT}"
    base["PYTHONUNBUFFERED"] = "1"
    base.update(env)
    return base


@contextmanager
def running_twin(env: Mapping[str, str], tmp_path: Path, *extra: str) -> Iterator[Twin]:
    """Start the twin with ``env``, wait for its health endpoint, stop it after."""
    port = free_port()
    log_path = tmp_path / f"twin-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            twin_command(port, "--env-file", os.devnull, *extra),
            cwd=ROOT,
            env=twin_env(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    twin = Twin(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        try:
            wait_http(twin.url + "/_gateway/health", proc=proc, what="twin")
        except Exception as exc:
            twin.stop()
            raise RuntimeError(f"twin did not start: {exc}\n{twin.output()}") from None
        yield twin
    finally:
        twin.stop()
