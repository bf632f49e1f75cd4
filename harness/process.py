"""One long-running child process: started in its own group, waited for, stopped.

    service = Service("bun-sqlite", argv, log_path=logs / "bun.log", health_url=url)
    service.start()
    service.wait_healthy(timeout_s=30)
    ...
    service.stop()

Every service runs in its own process group (``start_new_session``), so
stopping it also stops what it spawned (wrangler runs workerd as a child):
the stop signal goes to the group, then SIGKILL after a grace period, then
SIGKILL again to whatever of the group outlived its leader.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
NODE_BIN = REPO / "node_modules" / ".bin"

#: Variables a child keeps from the caller when it gets a clean environment.
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


class ServiceError(RuntimeError):
    """A service failed to start, exited, or did not become healthy; the message quotes its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def tool_env(extra: Mapping[str, str] | None = None, *, inherit: bool = True) -> dict[str, str]:
    """An environment with ``node_modules/.bin`` first on PATH (Node 22, bun, wrangler).

    ``inherit=False`` starts from a clean environment (only what a process
    needs to run), so a test's settings are exactly the ones it gives.
    """
    base = dict(os.environ) if inherit else {k: v for k, v in os.environ.items() if k in _KEEP}
    base["PATH"] = f"{NODE_BIN}{os.pathsep}{base.get('PATH', '')}"
    base.update(extra or {})
    return base


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def http_ok(url: str, *, timeout_s: float = 2.0) -> bool:
    """True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Service:
    """One long-running process, its log file and (optionally) an HTTP health URL."""

    name: str
    argv: Sequence[str]
    log_path: Path
    health_url: str | None = None
    cwd: Path = REPO
    env: dict[str, str] = field(default_factory=tool_env)
    #: The signal that asks the process to shut down cleanly.
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 — the child writes to it until stop()
        try:
            self.process = subprocess.Popen(
                list(self.argv),
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._log.close()
            raise ServiceError(f"{self.name}: cannot run {self.argv[0]}: {exc}") from exc
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, "start() first"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def is_healthy(self) -> bool:
        return self.health_url is not None and http_ok(self.health_url)

    def wait_healthy(self, timeout_s: float = 30.0) -> Service:
        """Poll the health URL until 200; raise ServiceError on exit or at the deadline."""
        return self.wait_until(self.is_healthy, timeout_s=timeout_s, what=f"healthy at {self.health_url}")

    def wait_for_output(self, text: str, timeout_s: float = 30.0) -> Service:
        """Wait until the log contains ``text`` (a "listening" line, say)."""
        return self.wait_until(lambda: text in self.output(), timeout_s=timeout_s, what=f"printing {text!r}")

    def wait_until(self, ready: object, *, timeout_s: float, what: str) -> Service:
        assert self.process is not None, "start() first"
        assert callable(ready)
        deadline = time.monotonic() + timeout_s
        while not ready():
            code = self.process.poll()
            if code is not None:
                raise ServiceError(
                    f"{self.name} exited with status {code} before {what}.\n"
                    f"--- last lines of {self.log_path} ---\n{tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.name} was not {what} within {timeout_s:g}s.\n"
                    f"--- last lines of {self.log_path} ---\n{tail(self.log_path)}"
                )
            time.sleep(0.05)
        return self

    def stop(self, grace_s: float = 10.0) -> int | None:
        """Send ``stop_signal`` to the group, wait ``grace_s``, then SIGKILL it; the exit status."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            signal_group(process.pid, self.stop_signal)
            try:
                process.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                signal_group(process.pid, signal.SIGKILL)
                process.wait()
        # Children (workerd) may outlive the leader briefly; make sure the group is gone.
        signal_group(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
        return process.returncode

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal a process group that may already be gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def run_logged(
    what: str, argv: Sequence[str], log_path: Path, *, env: Mapping[str, str], cwd: Path = REPO, timeout_s: float
) -> None:
    """Run a command to completion, its output appended to ``log_path``; ServiceError naming ``what`` if it fails."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        try:
            result = subprocess.run(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServiceError(f"{what} timed out after {timeout_s:g}s.\n{tail(log_path)}") from exc
    if result.returncode != 0:
        raise ServiceError(
            f"{what} failed (status {result.returncode}).\n--- last lines of {log_path} ---\n{tail(log_path)}"
        )


def start_healthy(service: Service, timeout_s: float) -> Service:
    """Start ``service`` and wait until it is healthy; stop it again if it is not."""
    service.start()
    try:
        return service.wait_healthy(timeout_s)
    except BaseException:
        service.stop()
        raise
