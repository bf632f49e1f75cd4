"""The whole stack started the way a user starts it, ``python -m devstack``, for the failure suite.

    stack = LaunchedStack.start("twin", data_dir, logs)   # or "worker": --gateway worker
    stack.pid("ruby-sqlite")                              # from <data-dir>/run/services.json
    stack.health("ruby-sqlite")                           # the gateway's /_gateway/backends
    stack.stop()                                          # SIGTERM, the launcher's exit status

The launcher runs in its own process group on free ports (every ``--*-port``
option), a data directory PostgreSQL's account can enter, and a clean
environment holding only what a user would set: a known ``API_KEY`` and short
health timings (``HEALTH_TTL_S=2``, ``HEALTH_RETRY_S=1``) so an outage shows
within seconds, and ``UPSTREAM_TIMEOUT_MS`` below the web app's own 15 s so a
frozen backend answers 504 rather than making the app give up first.

The ports are picked free here and bound by the launcher minutes later (after
the web app's build and the slower services), while other test processes pick
theirs: when one was taken meanwhile the launcher refuses it ("port N is
already in use", harness.supervise) and the stack is started once more on
fresh ports.

Only this module knows the launcher's files: ``<data-dir>/run/services.json``
(the supervisor's live state), its log and PostgreSQL's ``postmaster.pid``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx

from harness.process import Service, ServiceError, free_port, tail, tool_env

Runtime = Literal["twin", "worker"]
T = TypeVar("T")

#: The launcher's port options (``--<name>-port``).
PORT_OPTIONS = ("gateway", "bun", "d1", "d1-cloud", "ruby", "python", "elixir", "postgres", "frontend")
#: The health timings the launcher's gateway gets (seconds).
HEALTH_TTL_S = 2
HEALTH_RETRY_S = 1
UPSTREAM_TIMEOUT_MS = 5000
#: Two wrangler dev servers, PostgreSQL, the gateway (the Worker loads Pyodide) and the web app, on a busy box.
START_DEADLINE_S = 420
#: The launcher stops every service (grace 10 s each) before it exits.
STOP_DEADLINE_S = 120
POLL_S = 0.2
#: What the launcher's error says when a port was taken before it bound it (harness.supervise.PortInUse;
#: PostgreSQL's "Address already in use"), and how often a start is tried.
PORT_TAKEN = "already in use"
START_ATTEMPTS = 2


class Timeout(AssertionError):
    """An event did not happen before its deadline (a test failure, not a harness error)."""


def poll(check: Callable[[], T | None], deadline_s: float, what: str) -> tuple[T, float]:
    """Call ``check`` until it returns something other than None/False; that value and the seconds it took.

    Raises :class:`Timeout` naming ``what`` at the deadline.
    """
    start = time.monotonic()
    while True:
        value = check()
        elapsed = time.monotonic() - start
        if value is not None and value is not False:
            return value, elapsed
        if elapsed > deadline_s:
            raise Timeout(f"{what}: not within {deadline_s:g} s")
        time.sleep(POLL_S)


def reachable_temp_dir(prefix: str) -> Path:
    """A fresh directory PostgreSQL's account can enter (as root it runs as ``postgres``;
    pytest's temporary tree is 0700)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    return path


@dataclass
class LaunchedStack:
    """One ``python -m devstack`` process and what it started."""

    runtime: Runtime
    data_dir: Path
    ports: dict[str, int]
    api_key: str
    launcher: Service

    @classmethod
    def start(cls, runtime: Runtime, data_dir: Path, log_dir: Path) -> LaunchedStack:
        """Start the launcher and wait until the app, the gateway and every backend answer.

        When the launcher refused a port something else took meanwhile, once more on fresh
        ports (the same data directory; each attempt has its own log).
        """
        attempt = 1
        while True:
            log_path = log_dir / (f"devstack-{runtime}.log" if attempt == 1 else f"devstack-{runtime}-{attempt}.log")
            try:
                return cls.launch(runtime, data_dir, log_path)
            except ServiceError as exc:
                if attempt == START_ATTEMPTS or PORT_TAKEN not in str(exc).lower():
                    raise
            attempt += 1

    @classmethod
    def launch(cls, runtime: Runtime, data_dir: Path, log_path: Path) -> LaunchedStack:
        """One start on free ports: the launcher, waited for until everything is healthy."""
        ports = {name: free_port() for name in PORT_OPTIONS}
        argv = [sys.executable, "-m", "devstack", "--data-dir", str(data_dir), "--gateway", runtime]
        for name, port in ports.items():
            argv += [f"--{name}-port", str(port)]
        api_key = "failures-" + secrets.token_hex(12)
        env = tool_env(
            {
                "API_KEY": api_key,
                "HEALTH_TTL_S": str(HEALTH_TTL_S),
                "HEALTH_RETRY_S": str(HEALTH_RETRY_S),
                "UPSTREAM_TIMEOUT_MS": str(UPSTREAM_TIMEOUT_MS),
                "PYTHONUNBUFFERED": "1",
            },
            inherit=False,
        )
        launcher = Service(f"devstack-{runtime}", argv, log_path=log_path, env=env)
        stack = cls(runtime, data_dir, ports, api_key, launcher)
        launcher.start()
        try:
            stack.wait_ready(START_DEADLINE_S)
        except BaseException:
            stack.stop()
            raise
        return stack

    # -- addresses -------------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def frontend_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['frontend']}"

    def log(self) -> str:
        """The launcher's own output (its ``[run_stack]`` lines), for failure messages."""
        return tail(self.launcher.log_path, 60)

    def log_size(self) -> int:
        """Where the launcher's log ends now (an offset for :meth:`said_since`)."""
        try:
            return self.launcher.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def said_since(self, offset: int) -> list[str]:
        """The launcher's own lines (exits, restarts) written after ``offset``."""
        try:
            with self.launcher.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if line.startswith("[run_stack]")]

    # -- the launcher ----------------------------------------------------------------

    def wait_ready(self, deadline_s: float) -> None:
        """Until the launcher says all is healthy and the gateway sees every backend healthy."""
        try:
            self.launcher.wait_for_output("all healthy", timeout_s=deadline_s)
        except ServiceError as exc:
            raise ServiceError(f"python -m devstack --gateway {self.runtime} did not start: {exc}") from None
        self.wait_all_healthy(60)

    def wait_all_healthy(self, deadline_s: float) -> float:
        """Until ``/_gateway/backends`` shows every backend healthy; the seconds it took."""

        def all_healthy() -> bool:
            listing = self.listing()
            return listing is not None and all(
                _status(listing, entry["id"]) == "healthy" for entry in listing["backends"]
            )

        _, elapsed = poll(
            all_healthy,
            deadline_s,
            f"every backend healthy through the {self.runtime} gateway",
        )
        return elapsed

    def stop(self) -> int | None:
        """SIGTERM to the launcher (it stops its services, PostgreSQL last); its exit status."""
        self.resume_launcher()  # a paused launcher cannot act on SIGTERM
        process = self.launcher.process
        if process is None:
            return None
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_DEADLINE_S)
            except Exception:
                self.launcher.stop(grace_s=0)
        return self.launcher.stop(grace_s=0)  # closes the log; a no-op signal to a gone group

    def pause_launcher(self) -> None:
        """SIGSTOP the launcher alone (its services run on): a dead service stays dead until resumed."""
        assert self.launcher.process is not None
        os.kill(self.launcher.process.pid, signal.SIGSTOP)

    def resume_launcher(self) -> None:
        if self.launcher.process is not None and self.launcher.process.poll() is None:
            os.kill(self.launcher.process.pid, signal.SIGCONT)

    def services(self) -> dict[str, dict[str, Any]]:
        """``<data-dir>/run/services.json`` by service name (the file is replaced atomically)."""
        path = self.data_dir / "run" / "services.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        return {entry["name"]: entry for entry in document["services"]}

    def pids(self) -> dict[str, int | None]:
        """Every service's pid as the launcher reports it (None while it is down)."""
        return {name: entry.get("pid") for name, entry in self.services().items()}

    def pid(self, name: str) -> int:
        """The pid of a running service (its process group leader)."""
        entry = self.services()[name]
        assert entry["state"] == "up" and entry["pid"], f"{name} is not up: {entry}"
        return int(entry["pid"])

    def postmaster_pid(self) -> int:
        """PostgreSQL's postmaster (not a child of the launcher: it runs under pg_ctl)."""
        return int((self.data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])

    # -- the gateway -----------------------------------------------------------------

    def api(self, backend: str, timeout_s: float = 10) -> httpx.Client:
        """A gateway client with the key, routed to ``backend``."""
        return httpx.Client(
            base_url=self.gateway_url, headers={"x-backend": backend, "x-api-key": self.api_key}, timeout=timeout_s
        )

    def backend_ids(self) -> list[str]:
        """The backends the gateway lists (the launcher's; a new one shows up here)."""
        listing = self.listing()
        assert listing is not None, f"the {self.runtime} gateway does not list its backends"
        return [str(entry["id"]) for entry in listing["backends"]]

    def health(self, backend: str) -> str | None:
        """The status the app's dot shows for ``backend`` (the gateway's own environment's entry);
        None when the gateway does not answer."""
        listing = self.listing()
        return None if listing is None else _status(listing, backend)

    def listing(self) -> dict[str, Any] | None:
        """``/_gateway/backends``, or None when the gateway does not answer 200 within 3 s."""
        try:
            response = httpx.get(
                self.gateway_url + "/_gateway/backends", headers={"x-api-key": self.api_key}, timeout=3
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return dict(response.json())

    def tasks(self, backend: str) -> list[dict[str, Any]]:
        """Every task of ``backend`` through the gateway (raises unless it answers 200)."""
        with self.api(backend) as api:
            response = api.get("/tasks")
        response.raise_for_status()
        return list(response.json()["tasks"])

    def answers(self, backend: str) -> bool:
        """True when ``GET /tasks`` on ``backend`` answers 200 through the gateway."""
        with contextlib.suppress(httpx.HTTPError), self.api(backend, timeout_s=5) as api:
            return api.get("/tasks").status_code == 200
        return False


def _status(listing: dict[str, Any], backend: str) -> str | None:
    """The entry the app's dot shows: the gateway's own environment's, else the first."""
    for entry in listing["backends"]:
        if entry["id"] == backend:
            locations = entry["locations"]
            chosen = locations.get(listing["environment"]) or next(iter(locations.values()))
            return str(chosen["health"]["status"])
    return None
