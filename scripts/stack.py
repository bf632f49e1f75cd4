"""Start, health-check and stop the local GTD stack's processes (stdlib only).

Used by ``scripts/run_stack.py`` (fixed ports, data under ``./data``) and by
``tests/contract/conftest.py`` (free ports, temporary data), so both start the
services the same way.

    bun = bun_sqlite(port=3001, data_dir=Path("data/bun-sqlite"), log_dir=logs)
    bun.start()
    bun.wait_healthy(deadline=time.monotonic() + 30)
    ...
    bun.stop()

Every service runs in its own process group (``start_new_session``) so that
stopping it also stops what it spawned (wrangler runs workerd as a child).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
NODE_BIN = REPO / "node_modules" / ".bin"
CF_D1_DIR = REPO / "backends" / "cf-d1"
PYTHON = REPO / ".venv" / "bin" / "python"

# wrangler must run fully offline here: no metrics, no prompts, no colours.
# (It still tries to fetch the `Request.cf` placeholder once and logs a
# harmless warning when that fails.)
WRANGLER_ENV = {
    "WRANGLER_SEND_METRICS": "false",
    "CI": "true",
    "NO_COLOR": "1",
    "FORCE_COLOR": "0",
}


class StackError(RuntimeError):
    """A service failed to start or become healthy; the message names it and quotes its log."""


def _tool_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment with node_modules/.bin first (Node 22, bun, wrangler, workerd)."""
    env = dict(os.environ)
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no log written)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


@dataclass
class Service:
    """One long-running process with an HTTP health URL."""

    name: str
    argv: list[str]
    health_url: str
    log_path: Path
    cwd: Path = REPO
    env: dict[str, str] = field(default_factory=dict)
    #: Signal that asks the process to shut down cleanly.
    stop_signal: signal.Signals = signal.SIGTERM
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise StackError(f"{self.name}: cannot run {self.argv[0]}: {exc}") from exc

    def is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_healthy(self, deadline: float) -> None:
        """Poll the health URL until 200; raise StackError on exit or at the deadline."""
        assert self.process is not None, "start() first"
        while True:
            code = self.process.poll()
            if code is not None:
                raise StackError(
                    f"{self.name} exited with status {code} before becoming healthy.\n"
                    f"--- last lines of {self.log_path} ---\n{tail(self.log_path)}"
                )
            if self.is_healthy():
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{self.name} was not healthy at {self.health_url} in time.\n"
                    f"--- last lines of {self.log_path} ---\n{tail(self.log_path)}"
                )
            time.sleep(0.2)

    def stop(self, grace: float = 10.0) -> int | None:
        """Send ``stop_signal`` to the process group, wait up to ``grace`` seconds, then SIGKILL it."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            _signal_group(process.pid, self.stop_signal)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
        # Children (workerd) may outlive the leader briefly; make sure the group is gone.
        _signal_group(process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
        return process.returncode


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def bun_sqlite(port: int, data_dir: Path, log_dir: Path, host: str = "127.0.0.1") -> Service:
    return Service(
        name="bun-sqlite",
        argv=[str(NODE_BIN / "bun"), "run", "backends/bun-sqlite/src/index.ts"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / "bun-sqlite.log",
        env=_tool_env(
            {
                "PORT": str(port),
                "HOST": host,
                "DATABASE_URL": f"file:{data_dir.resolve() / 'gtd.db'}",
                "BACKEND_ID": "bun-sqlite",
            }
        ),
    )


def apply_d1_migrations(persist_dir: Path, log_dir: Path, timeout: float = 120) -> None:
    """``wrangler d1 migrations apply gtd --local`` into ``persist_dir`` (idempotent)."""
    log_path = log_dir / "cf-d1-migrations.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        str(NODE_BIN / "wrangler"),
        "d1", "migrations", "apply", "gtd", "--local",
        "--persist-to", str(persist_dir.resolve()),
    ]  # fmt: skip
    with open(log_path, "ab") as log:
        try:
            result = subprocess.run(
                argv,
                cwd=CF_D1_DIR,
                env=_tool_env(WRANGLER_ENV),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"cf-d1 migrations timed out after {timeout}s.\n{tail(log_path)}") from exc
    if result.returncode != 0:
        raise StackError(
            f"cf-d1 migrations failed (status {result.returncode}).\n"
            f"--- last lines of {log_path} ---\n{tail(log_path)}"
        )


def cf_d1(port: int, persist_dir: Path, log_dir: Path, inspector_port: int | None = None) -> Service:
    argv = [
        str(NODE_BIN / "wrangler"),
        "dev", "--local",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--persist-to", str(persist_dir.resolve()),
        "--show-interactive-dev-session=false",
    ]  # fmt: skip
    if inspector_port is not None:
        argv += ["--inspector-port", str(inspector_port)]
    return Service(
        name="cf-d1",
        argv=argv,
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / "cf-d1.log",
        cwd=CF_D1_DIR,
        env=_tool_env(WRANGLER_ENV),
        # wrangler treats SIGINT as Ctrl-C: it disposes workerd and exits 0 (SIGTERM exits 143).
        stop_signal=signal.SIGINT,
    )


def gateway(port: int, bun_url: str, d1_url: str, log_dir: Path, python: Path | str = PYTHON) -> Service:
    env = dict(os.environ)
    env.update(
        {
            "ENVIRONMENT": "local",
            "BACKEND_BUN_SQLITE_URL": bun_url,
            "BACKEND_CF_D1_URL": d1_url,
            "PYTHONPATH": "src:.",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return Service(
        name="gateway",
        argv=[str(python), "-m", "local_runner", "--host", "127.0.0.1", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/_gateway/health",
        log_path=log_dir / "gateway.log",
        env=env,
    )


if __name__ == "__main__":  # pragma: no cover - a library module
    sys.exit("scripts/stack.py is a library; run scripts/run_stack.py")
