"""A private PostgreSQL server for development and tests (standard library only).

One data directory, one TCP port on 127.0.0.1 and one unix socket directory,
all private to the caller: no system service or system cluster is touched.

    from pgserver import PgServer

    server = PgServer("data/postgres", port=54329)
    server.start()             # initdb on first run, pg_ctl start -w, create role + database
    print(server.database_url) # postgresql://gtd:gtd@127.0.0.1:54329/gtd
    server.stop()              # fast shutdown (or stop(mode="smart"))

    with PgServer.temporary() as server:   # tests: fresh temp dir, free port, removed after
        ...

CLI (same options):

    python pgserver.py start  --data-dir data/postgres --port 54329
    python pgserver.py status --data-dir data/postgres
    python pgserver.py stop   --data-dir data/postgres [--mode smart|fast|immediate]
    python pgserver.py url    --data-dir data/postgres --port 54329

Root: initdb and postgres refuse to run as root. When this process is root the
server runs as an unprivileged account instead: the owner of an existing data
directory if that is not root, else the `postgres` account (Debian's package
creates it), else `nobody`. The data directory is chowned to it (mode 0700)
and every directory above it must let that account through (search bit);
`PgServer.temporary()` makes such a directory. As a non-root user nothing is
switched: the server runs as that user.

Binaries: `bindir=`, else $PG_BINDIR, else the newest /usr/lib/postgresql/*/bin
(Debian), else `pg_config --bindir`, else $PATH.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

__all__ = ["PgServer", "PgServerError", "find_bindir", "free_port"]

DEFAULT_DB = "gtd"
DEFAULT_USER = "gtd"
DEFAULT_PASSWORD = "gtd"
SUPERUSER = "postgres"
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; ".s.PGSQL.65535" must fit after the directory


class PgServerError(RuntimeError):
    """Anything that stops the private server from being set up, started or stopped."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_bindir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where initdb, pg_ctl, postgres and psql live."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    candidates.extend(Path(p) for p in debian)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.CalledProcessError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise PgServerError(
        "PostgreSQL server binaries not found (initdb, pg_ctl): install Debian's `postgresql` package or set PG_BINDIR"
    )


@dataclass(frozen=True)
class _Account:
    """The OS account the server runs as; `switch` is False when that is us."""

    name: str
    uid: int
    gid: int
    switch: bool

    def popen_kwargs(self) -> dict[str, Any]:
        if not self.switch:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _server_account(data_dir: Path) -> _Account:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return _Account(me.pw_name, os.geteuid(), os.getegid(), switch=False)
    if data_dir.exists():
        owner = data_dir.stat().st_uid
        if owner != 0:
            try:
                entry = pwd.getpwuid(owner)
                return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=True)
            except KeyError:
                return _Account(str(owner), owner, data_dir.stat().st_gid, switch=True)
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _Account(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=True)
    raise PgServerError("running as root and neither a `postgres` nor a `nobody` account exists")


def _can_traverse(path: Path, account: _Account) -> bool:
    st = path.stat()
    if st.st_uid == account.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    groups = {account.gid}
    try:
        import grp

        groups |= {g.gr_gid for g in grp.getgrall() if account.name in g.gr_mem}
    except (ImportError, OSError):  # pragma: no cover - best effort
        pass
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


class PgServer:
    """A PostgreSQL cluster in `data_dir`, served on 127.0.0.1:`port` and a private socket."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int = 54329,
        *,
        socket_dir: str | os.PathLike[str] | None = None,
        database: str = DEFAULT_DB,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        bindir: str | os.PathLike[str] | None = None,
        log_file: str | os.PathLike[str] | None = None,
        start_timeout_s: float = 60,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = int(port)
        self.database = database
        self.user = user
        self.password = password
        self.bindir = find_bindir(bindir)
        self.start_timeout_s = start_timeout_s
        # Inside the data directory by default (private: 0700), unless its path is too long
        # for a unix socket; then a private directory under /tmp.
        self._socket_dir_given = socket_dir is not None
        self.socket_dir = Path(socket_dir).resolve() if socket_dir else self.data_dir / "run"
        self.log_file = Path(log_file).resolve() if log_file else self.data_dir / "server.log"
        self._account: _Account | None = None
        self._own_tmp: Path | None = None  # set by temporary()

    # -- public API ------------------------------------------------------------

    @property
    def database_url(self) -> str:
        """The URL the app connects with (TCP, password authentication)."""
        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/{quote(self.database, safe='')}"
        )

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def start(self) -> PgServer:
        """initdb on first use, start and wait until it accepts connections, ensure role + db."""
        self.init()
        if self.running():
            self._ensure_database()
            return self
        self._prepare_socket_dir()
        if self.log_file.parent != self.data_dir:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._chown(self.log_file.parent)
        options = " ".join(
            [
                f"-c port={self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories='{self.socket_dir}'",
                "-c unix_socket_permissions=0700",
            ]
        )
        result = self._run(
            [
                self._bin("pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(self.start_timeout_s)),
                "-o",
                options,
            ],
            check=False,
        )
        if result.returncode != 0 or not self.running():
            raise PgServerError(
                f"pg_ctl start failed (exit {result.returncode}): {result.stdout}{result.stderr}\n"
                f"--- {self.log_file} ---\n{self._log_tail()}"
            )
        self._wait_ready()
        self._ensure_database()
        return self

    def stop(self, mode: str = "fast", timeout_s: float = 60) -> bool:
        """Stop the server (smart: wait for clients; fast: roll back and disconnect them).

        Returns False when it was not running.
        """
        if mode not in ("smart", "fast", "immediate"):
            raise ValueError(f"unknown shutdown mode {mode!r}")
        if not self.initialized or not self.running():
            return False
        socket_dir = self._pidfile_line(4)
        result = self._run(
            [self._bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", str(int(timeout_s))],
            check=False,
        )
        if result.returncode != 0:
            raise PgServerError(f"pg_ctl stop failed (exit {result.returncode}): {result.stdout}{result.stderr}")
        if socket_dir and Path(socket_dir).name.startswith("pgsock-"):  # our fallback under /tmp
            shutil.rmtree(socket_dir, ignore_errors=True)
        return True

    def running(self) -> bool:
        """True while a postmaster owns this data directory (pg_ctl status)."""
        if not self.initialized:
            return False
        result = self._run([self._bin("pg_ctl"), "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def status(self) -> dict[str, Any]:
        port = self._running_port()
        return {
            "data_dir": str(self.data_dir),
            "initialized": self.initialized,
            "running": self.running(),
            "port": port,
            "database_url": self.database_url if port is None or port == self.port else None,
            "server_user": self._get_account().name,
        }

    def init(self) -> None:
        """initdb into data_dir unless it already holds a cluster."""
        if self.initialized:
            self._get_account()
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise PgServerError(f"{self.data_dir} exists, is not empty and holds no PostgreSQL cluster")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        account = self._get_account()
        self._chown(self.data_dir)
        os.chmod(self.data_dir, 0o700)
        self._check_reachable(self.data_dir, account)
        pwfile = None
        try:
            # The superuser password is never used (local socket is trust, only for us); a
            # random one keeps TCP logins as the superuser impossible.
            fd, pwfile = tempfile.mkstemp(prefix="pgpw-")
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(16).hex() + "\n")
            self._chown(Path(pwfile))
            self._run(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ]
            )
        except Exception:
            # Leave no half-made cluster behind: the next start would refuse the directory.
            if not self.initialized:
                for child in self.data_dir.iterdir():
                    shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
            raise
        finally:
            if pwfile:
                os.unlink(pwfile)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the superuser over the private socket; returns psql's unaligned output."""
        result = self._run(
            [
                self._bin("psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ]
        )
        return result.stdout

    # -- tests -----------------------------------------------------------------

    def without_durability(self) -> None:
        """No flush to disk on commit or checkpoint, for a server whose data is thrown away.

        What a backend answers does not change (only a crash of the machine would
        lose data, which no test relies on); writes stop waiting for a disk that
        the other suites keep busy (the backend's own suite: 251 s -> 161 s).
        """
        for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
            self.psql(f"ALTER SYSTEM SET {setting}")
        self.psql("SELECT pg_reload_conf()")

    @classmethod
    def temporary(cls, **kwargs: Any) -> PgServer:
        """A server in a fresh temp directory on a free port; `with` stops it and removes the directory."""
        tmp = Path(tempfile.mkdtemp(prefix="pgserver-"))
        os.chmod(tmp, 0o711)  # the server account (root: `postgres`) must get through
        kwargs.setdefault("port", free_port())
        server = cls(tmp / "data", **kwargs)
        server._own_tmp = tmp
        return server

    def __enter__(self) -> PgServer:
        try:
            return self.start()
        except BaseException:
            self._cleanup_tmp()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop(mode="fast")
        finally:
            self._cleanup_tmp()

    def _cleanup_tmp(self) -> None:
        if self._own_tmp is not None:
            shutil.rmtree(self._own_tmp, ignore_errors=True)
            self._own_tmp = None

    # -- internals -------------------------------------------------------------

    def _bin(self, name: str) -> str:
        path = self.bindir / name
        if not path.is_file():
            raise PgServerError(f"{path} not found")
        return str(path)

    def _get_account(self) -> _Account:
        if self._account is None:
            self._account = _server_account(self.data_dir)
        return self._account

    def _chown(self, path: Path) -> None:
        account = self._get_account()
        if account.switch:
            os.chown(path, account.uid, account.gid)

    def _check_reachable(self, path: Path, account: _Account) -> None:
        if not account.switch:
            return
        for parent in path.parents:
            if not _can_traverse(parent, account):
                raise PgServerError(
                    f"the server runs as {account.name!r} (initdb/postgres refuse root), which cannot "
                    f"enter {parent}: pick a data directory it can reach (e.g. PgServer.temporary()), "
                    f"or `chmod o+x {parent}`"
                )

    def _prepare_socket_dir(self) -> None:
        if len(str(self.socket_dir)) > SOCKET_PATH_MAX:
            if self._socket_dir_given:
                raise PgServerError(f"socket directory path too long for a unix socket: {self.socket_dir}")
            self.socket_dir = Path(tempfile.mkdtemp(prefix="pgsock-"))
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.socket_dir)
        os.chmod(self.socket_dir, 0o700)

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update({"LC_ALL": "C", "LANG": "C", "TZ": "UTC"})
        try:
            result = subprocess.run(
                argv,
                cwd="/",
                env=env,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                **self._get_account().popen_kwargs(),
            )
        except OSError as exc:
            raise PgServerError(f"cannot run {argv[0]}: {exc}") from exc
        if check and result.returncode != 0:
            raise PgServerError(
                f"{Path(argv[0]).name} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def _pidfile_line(self, index: int) -> str | None:
        """A line of postmaster.pid (pid, data dir, start time, port, socket dir, ...), if up."""
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()[index].strip()
        except (OSError, IndexError):
            return None

    def _running_port(self) -> int | None:
        line = self._pidfile_line(3)
        return int(line) if line and line.isdigit() else None

    def _wait_ready(self) -> None:
        """pg_ctl -w already waited; make sure the socket answers queries before we go on."""
        deadline = time.monotonic() + self.start_timeout_s
        socket_dir = self._pidfile_line(4)
        if socket_dir:  # the running server's, which another process may have chosen
            self.socket_dir = Path(socket_dir)
        running_port = self._running_port()
        if running_port is not None and running_port != self.port:
            raise PgServerError(f"server in {self.data_dir} already runs on port {running_port}, not {self.port}")
        last = ""
        while time.monotonic() < deadline:
            try:
                self.psql("SELECT 1")
                return
            except PgServerError as exc:
                last = str(exc)
                time.sleep(0.1)
        raise PgServerError(f"server did not accept connections: {last}")

    def _ensure_database(self) -> None:
        """Create the app's role (login, password) and database (owned by it, UTF8) if missing."""
        self._wait_ready()
        user = _ident(self.user)
        password = _literal(self.password)
        self.psql(
            f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(self.user)}) "
            f"THEN CREATE ROLE {user} LOGIN PASSWORD {password}; "
            f"ELSE ALTER ROLE {user} LOGIN PASSWORD {password}; END IF; END$$"
        )
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = {_literal(self.database)}").strip()
        if not exists:
            self.psql(
                f"CREATE DATABASE {_ident(self.database)} OWNER {user} "
                "TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            )

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- CLI -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pgserver.py", description="A private PostgreSQL server.")
    parser.add_argument("command", choices=["start", "stop", "status", "url"])
    parser.add_argument("--data-dir", default=os.environ.get("PG_DATA_DIR", "data/postgres"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PG_PORT", "54329")))
    parser.add_argument("--socket-dir", default=None)
    parser.add_argument("--database", default=DEFAULT_DB)
    parser.add_argument("--user", default=DEFAULT_USER)
    parser.add_argument("--password", default=os.environ.get("PG_PASSWORD", DEFAULT_PASSWORD))
    parser.add_argument("--bindir", default=None)
    parser.add_argument("--mode", choices=["smart", "fast", "immediate"], default="fast", help="stop mode")
    args = parser.parse_args(argv)
    try:
        server = PgServer(
            args.data_dir,
            args.port,
            socket_dir=args.socket_dir,
            database=args.database,
            user=args.user,
            password=args.password,
            bindir=args.bindir,
        )
        if args.command == "start":
            server.start()
            print(f"started: {server.database_url} (data {server.data_dir}, log {server.log_file})")
        elif args.command == "stop":
            print("stopped" if server.stop(mode=args.mode) else "not running")
        elif args.command == "url":
            print(server.database_url)
        else:
            info = server.status()
            for key, value in info.items():
                print(f"{key}: {value}")
            return 0 if info["running"] else 3
    except PgServerError as exc:
        print(f"pgserver: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
