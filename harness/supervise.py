"""Keep a started stack running: restart what dies, with back-off, and say so.

    units = [supervise.Postgres(database), *stack]        # anything with the Unit shape
    status = supervise.run(units, state_file=data / "run" / "services.json", deadline_s=90, grace_s=10)

:func:`run` starts every unit in order and waits for its health (a unit
that cannot start on its first start stops everything: exit status 1),
then watches them. A unit whose process exits is logged
(``<name> exited with status N; restarting in X s``), marked down and
started again after a back-off: 0.5 s, doubling up to 30 s while it keeps
dying young, back to 0.5 s once it has stayed up for ``stable_s``. The
others keep running. Only SIGINT/SIGTERM end the run (exit status 0).

The live state goes to ``state_file`` (replaced atomically, so a reader
never sees half a document)::

    {"updated": "...", "services": [{"name", "pid", "state": "up|down|starting",
      "restarts", "since", "backoff_s", "health_url"}, ...]}

The loop is single-threaded: a restart's health wait is polled between
the checks of the others, so one slow restart never hides another exit.
PostgreSQL's own ``pg_ctl start -w`` is the exception: it blocks the loop
while PostgreSQL comes up (seconds).

A unit is never started while something already answers on its health
URL's port: that server would pass the unit's health check while the unit
fails to bind and exits, so the launcher would call a dead service healthy
and restart it forever (a first start fails with ``port N is already in
use``; a restart is logged as ``could not start`` and tried again later).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urlsplit

from .process import Service, ServiceError, tail

if TYPE_CHECKING:
    from pgserver import PgServer

State = Literal["up", "down", "starting"]

#: Back-off before a restart: the first delay, its cap, and how long a unit must stay up to reset it.
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
STABLE_S = 60.0
#: How often the loop looks at every unit.
POLL_S = 0.25


class Stop(Exception):
    """Raised by the signal handler to leave the loop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


class Unit(Protocol):
    """What the supervisor needs of a service (a :class:`~harness.process.Service` has it)."""

    name: str
    health_url: str | None
    log_path: Path

    def start(self) -> object: ...
    def exit_status(self) -> int | str | None: ...
    def is_ready(self) -> bool: ...
    def current_pid(self) -> int | None: ...
    def stop(self, grace_s: float = 10.0) -> int | None: ...


class PortInUse(ServiceError):
    """Something already answers on a unit's port, so the unit is not started."""


class ServiceUnit:
    """A :class:`Service` seen as a Unit."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.name = service.name
        self.health_url = service.health_url
        self.log_path = service.log_path
        self._stopped: object = None  # the process the last stop() was for

    def start(self) -> object:
        # Another process's server on our port would answer our health check while our
        # process fails to bind and exits (a port picked free, then taken before we bound it).
        port = answering_port(self.health_url)
        if port is not None:
            raise PortInUse(f"{self.name}: port {port} is already in use by another process")
        return self.service.start()

    def exit_status(self) -> int | None:
        process = self.service.process
        return None if process is None else process.poll()

    def is_ready(self) -> bool:
        # A service without a health URL is ready once it runs.
        return self.service.health_url is None or self.service.is_healthy()

    def current_pid(self) -> int | None:
        process = self.service.process
        return None if process is None or process.poll() is not None else process.pid

    def stop(self, grace_s: float = 10.0) -> int | None:
        process = self.service.process
        if process is not None and process is self._stopped:
            # Stopped once already (a restart that could not start stops it again): its pid,
            # its group's id, was freed then and may be a stranger's group by now.
            return process.returncode
        self._stopped = process
        return self.service.stop(grace_s=grace_s)


def answering_port(url: str | None) -> int | None:
    """The port of ``url`` if a server accepts connections on it now, else None."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.hostname is None:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.socket() as sock:
        sock.settimeout(1.0)
        if sock.connect_ex((parts.hostname, port)) != 0:
            return None
        # Connecting to a free port of the ephemeral range can pick that very port as the
        # source and connect to itself (TCP simultaneous open): nobody is there.
        return None if sock.getsockname() == sock.getpeername() else port


class Postgres:
    """PostgreSQL under ``pg_ctl`` (not our child) as a Unit: watched through its postmaster pid."""

    name = "postgres"
    health_url: str | None = None

    def __init__(self, database: PgServer) -> None:
        self.database = database
        self.log_path = database.log_file
        self._pid: int | None = None

    def start(self) -> object:
        # pg_ctl start -w waits until it accepts connections; a stale postmaster.pid left by a
        # killed server is pg_ctl's to clean up.
        self.database.start()
        self._pid = self._postmaster_pid()
        return self

    def exit_status(self) -> str | None:
        if self._pid is None or _alive(self._pid):
            return None
        return "unknown (not our child)"

    def is_ready(self) -> bool:
        return self._pid is not None and _alive(self._pid)

    def current_pid(self) -> int | None:
        return self._pid if self._pid is not None and _alive(self._pid) else None

    def stop(self, grace_s: float = 10.0) -> int | None:
        self._pid = None
        self.database.stop(mode="fast")
        return 0

    def _postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, IndexError, ValueError):
            return int((self.database.data_dir / "postmaster.pid").read_text().splitlines()[0])
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process (postgres runs as its own account): alive
        return True
    return True


def as_unit(item: Service | Unit) -> Unit:
    return ServiceUnit(item) if isinstance(item, Service) else item


@dataclass
class Watch:
    """The supervisor's book on one unit."""

    unit: Unit
    state: State = "starting"
    restarts: int = 0
    since: float = 0.0  # wall clock of the last state change
    up_at: float = 0.0  # monotonic, when it last became up
    down_at: float = 0.0  # monotonic, when it last went down
    restart_at: float = 0.0  # monotonic, when the next start is due
    start_by: float = 0.0  # monotonic, deadline of the running (re)start
    backoff_s: float = 0.0  # the delay before the latest restart

    def enter(self, state: State) -> None:
        self.state = state
        self.since = time.time()


def log(message: str) -> None:
    print(f"[run_stack] {message}", file=sys.stderr, flush=True)


class Supervisor:
    """Starts units, then restarts the ones that exit; writes ``state_file`` on every change."""

    def __init__(
        self,
        units: Sequence[Service | Unit],
        *,
        state_file: Path,
        deadline_s: float,
        stable_s: float = STABLE_S,
        first_delay_s: float = FIRST_DELAY_S,
        max_delay_s: float = MAX_DELAY_S,
    ) -> None:
        self.watches = [Watch(as_unit(unit)) for unit in units]
        self.state_file = state_file
        self.deadline_s = deadline_s
        self.stable_s = stable_s
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.started: list[Watch] = []

    def start_all(
        self,
        on_starting: Callable[[Unit], None] = lambda unit: None,
        on_healthy: Callable[[Unit], None] = lambda unit: None,
    ) -> None:
        """First start, in order, each waited for; raise ServiceError (or PgServerError) if one cannot start."""
        for watch in self.watches:
            unit = watch.unit
            self.started.append(watch)  # before start(): a signal mid-start must still stop it
            watch.enter("starting")
            self.write_state()
            on_starting(unit)
            unit.start()
            deadline = time.monotonic() + self.deadline_s
            while not unit.is_ready():
                code = unit.exit_status()
                if code is not None:
                    raise ServiceError(
                        f"{unit.name} exited with status {code} before it was healthy.\n{_log_tail(unit)}"
                    )
                if time.monotonic() > deadline:
                    raise ServiceError(f"{unit.name} was not healthy within {self.deadline_s:g}s.\n{_log_tail(unit)}")
                time.sleep(0.05)
            watch.enter("up")
            watch.up_at = time.monotonic()
            self.write_state()
            on_healthy(unit)

    def watch_forever(self) -> None:
        """Poll every unit until a signal raises Stop."""
        while True:
            for watch in self.watches:
                self.step(watch)
            time.sleep(POLL_S)

    def step(self, watch: Watch) -> None:
        """One look at one unit: notice an exit, start a due restart, notice health."""
        unit, now = watch.unit, time.monotonic()
        if watch.state in ("up", "starting"):
            code = unit.exit_status()
            if code is not None:
                self._went_down(watch, f"exited with status {code}", now)
            elif watch.state == "starting" and unit.is_ready():
                watch.enter("up")
                watch.up_at = time.monotonic()
                log(f"{unit.name} is healthy again after {watch.up_at - watch.down_at:.1f} s down")
                self.write_state()
            elif watch.state == "starting" and now > watch.start_by:
                self._went_down(watch, f"was not healthy within {self.deadline_s:g} s", now)
        elif watch.state == "down" and now >= watch.restart_at:
            watch.restarts += 1
            watch.enter("starting")
            watch.start_by = now + self.deadline_s
            log(f"restarting {unit.name} (restart {watch.restarts})")
            try:
                unit.start()
            except Stop:
                raise
            except Exception as exc:  # noqa: BLE001 — cannot even run: try again later, never stop the others
                self._went_down(watch, f"could not start ({exc})", time.monotonic())
                return
            self.write_state()

    def _went_down(self, watch: Watch, why: str, now: float) -> None:
        unit = watch.unit
        # Young: it died before it was up, or was up for less than stable_s. Then the delay grows.
        young = watch.state == "starting" or now - watch.up_at < self.stable_s
        first_failure = watch.backoff_s == 0.0 or not young
        watch.backoff_s = self.first_delay_s if first_failure else min(self.max_delay_s, watch.backoff_s * 2)
        if watch.state == "up":
            watch.down_at = now
        # Whatever the leader left behind (workerd under wrangler) must not hold the port.
        unit.stop(grace_s=0)
        watch.restart_at = now + watch.backoff_s
        watch.enter("down")
        log(f"{unit.name} {why}; restarting in {watch.backoff_s:g} s")
        self.write_state()

    def stop_all(self, grace_s: float) -> None:
        for watch in reversed(self.started):
            code = watch.unit.stop(grace_s=grace_s)
            log(f"stopped {watch.unit.name} (status {code})")

    def write_state(self) -> None:
        """Replace ``state_file`` atomically (write a sibling, then rename over it)."""
        document = {
            "updated": _rfc3339(time.time()),
            "services": [
                {
                    "name": watch.unit.name,
                    "pid": watch.unit.current_pid() if watch.state != "down" else None,
                    "state": watch.state,
                    "restarts": watch.restarts,
                    "since": _rfc3339(watch.since),
                    "backoff_s": watch.backoff_s,
                    "health_url": watch.unit.health_url,
                }
                for watch in self.started
            ],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}")
        temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.state_file)


def _log_tail(unit: Unit) -> str:
    return f"--- last lines of {unit.log_path} ---\n{tail(unit.log_path)}"


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signum)


def run(
    units: Sequence[Service | Unit],
    *,
    state_file: Path,
    deadline_s: float,
    grace_s: float,
    prepare: Callable[[], None] = lambda: None,
    banner: Callable[[], str] = lambda: "",
    stable_s: float = STABLE_S,
) -> int:
    """Start ``units`` (after ``prepare``), print ``banner``, supervise until SIGINT/SIGTERM; the exit status.

    0 after a signal, 1 when ``prepare`` or a first start failed (everything
    started so far is stopped again, last first).
    """
    from pgserver import PgServerError

    supervisor = Supervisor(units, state_file=state_file, deadline_s=deadline_s, stable_s=stable_s)
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    status = 0
    try:
        prepare()

        def starting(unit: Unit) -> None:
            log(f"starting {unit.name} (log: {unit.log_path})")

        def healthy(unit: Unit) -> None:
            log(f"{unit.name} is healthy" + (f" at {unit.health_url}" if unit.health_url else ""))

        supervisor.start_all(on_starting=starting, on_healthy=healthy)
        print(banner(), flush=True)
        log(f"all healthy; live state in {state_file}; Ctrl-C to stop")
        supervisor.watch_forever()
    except Stop as stop:
        log(f"{stop}: stopping")
    except (ServiceError, PgServerError) as exc:
        log(f"error: {exc}")
        status = 1
    finally:
        # Ignore further signals while cleaning up so a second Ctrl-C cannot orphan children.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all(grace_s)
        with contextlib.suppress(OSError):
            state_file.unlink()
    return status
