"""Recipes for the GTD stack's processes, each a :class:`~harness.process.Service`.

The same recipes serve ``make run`` (fixed ports, data under ``./data``),
the contract, behaviour and hardening suites (free ports, temporary data)
and the benchmarks, so every place starts a service the same way.
"""

from __future__ import annotations

import json
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .process import NODE_BIN, REPO, Service, ServiceError, run_logged, tool_env
from .workerd import overlay as overlay_config

if TYPE_CHECKING:
    from pgserver import PgServer

CF_D1_DIR = REPO / "backends" / "cf-d1"

# wrangler must run fully offline here: no metrics, no prompts, no colours.
# (It still tries to fetch the `Request.cf` placeholder once and logs a
# harmless warning when that fails.)
WRANGLER_ENV = {
    "WRANGLER_SEND_METRICS": "false",
    "CI": "true",
    "NO_COLOR": "1",
    "FORCE_COLOR": "0",
}


def bun_sqlite(port: int, data_dir: Path, log_dir: Path, host: str = "127.0.0.1") -> Service:
    """backends/bun-sqlite on ``port``, its database in ``data_dir``."""
    return Service(
        name="bun-sqlite",
        argv=[str(NODE_BIN / "bun"), "run", "backends/bun-sqlite/src/index.ts"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / "bun-sqlite.log",
        env=tool_env(
            {
                "PORT": str(port),
                "HOST": host,
                "DATABASE_URL": f"file:{data_dir.resolve() / 'gtd.db'}",
                "BACKEND_ID": "bun-sqlite",
            }
        ),
    )


def ruby_sqlite(port: int, data_dir: Path, log_dir: Path, host: str = "127.0.0.1") -> Service:
    """backends/ruby-sqlite (Sinatra on Puma, Debian's Ruby) on ``port``, its database in ``data_dir``."""
    return Service(
        name="ruby-sqlite",
        argv=["puma", "-C", "puma.rb"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / "ruby-sqlite.log",
        cwd=REPO / "backends" / "ruby-sqlite",
        env=tool_env(
            {
                "PORT": str(port),
                "HOST": host,
                "DATABASE_URL": f"file:{data_dir.resolve() / 'gtd.db'}",
                "BACKEND_ID": "ruby-sqlite",
            }
        ),
    )


ELIXIR_SQLITE_DIR = REPO / "backends" / "elixir-sqlite"


def elixir_sqlite(port: int, data_dir: Path, log_dir: Path, host: str = "127.0.0.1") -> Service:
    """backends/elixir-sqlite (mochiweb + p1_sqlite3 on Debian's Elixir/OTP) on ``port``, data in ``data_dir``.

    ``mix run --no-halt`` in the prod environment: Mix compiles first when the
    sources changed (a few seconds), then the OTP application runs; SIGTERM
    stops it gracefully (requests in flight finish).
    """
    return Service(
        name="elixir-sqlite",
        argv=["mix", "run", "--no-halt"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / "elixir-sqlite.log",
        cwd=ELIXIR_SQLITE_DIR,
        env=tool_env(
            {
                "MIX_ENV": "prod",
                "PORT": str(port),
                "HOST": host,
                "DATABASE_URL": f"file:{data_dir.resolve() / 'gtd.db'}",
                "BACKEND_ID": "elixir-sqlite",
            }
        ),
    )


def postgres(data_dir: Path, port: int, log_dir: Path) -> PgServer:
    """A private PostgreSQL cluster for python-postgres (``initdb`` on first use; ``pg_ctl``).

    PostgreSQL runs as a daemon under ``pg_ctl`` rather than as a child
    :class:`Service`: its own tool starts, waits for and stops it cleanly
    (backends/python-postgres/pgserver.py).
    """
    from pgserver import PgServer  # installed with backends/python-postgres

    return PgServer(data_dir, port, log_file=log_dir / "postgres.log")


def python_postgres(port: int, database_url: str, log_dir: Path, host: str = "127.0.0.1") -> Service:
    """backends/python-postgres (Starlette + asyncpg on uvicorn) on ``port``."""
    return Service(
        name="python-postgres",
        argv=[sys.executable, "-m", "gtd_pg"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / "python-postgres.log",
        cwd=REPO / "backends" / "python-postgres",
        env=tool_env(
            {"PORT": str(port), "HOST": host, "DATABASE_URL": database_url, "BACKEND_ID": "python-postgres"},
            inherit=False,
        ),
    )


def apply_d1_migrations(persist_dir: Path, log_dir: Path, timeout_s: float = 120) -> None:
    """``wrangler d1 migrations apply gtd --local`` into ``persist_dir`` (idempotent)."""
    argv = [
        str(NODE_BIN / "wrangler"),
        "d1", "migrations", "apply", "gtd", "--local",
        "--persist-to", str(persist_dir.resolve()),
    ]  # fmt: skip
    log_path = log_dir / "cf-d1-migrations.log"
    run_logged("cf-d1 migrations", argv, log_path, env=tool_env(WRANGLER_ENV), cwd=CF_D1_DIR, timeout_s=timeout_s)


def cf_d1(
    port: int, persist_dir: Path, log_dir: Path, inspector_port: int | None = None, *, name: str = "cf-d1"
) -> Service:
    """backends/cf-d1 under ``wrangler dev --local`` on ``port``, D1 state in ``persist_dir``.

    Two instances with their own ``persist_dir`` and ``inspector_port`` run side
    by side: ``make run`` starts a second one as the stand-in for the deployed
    cf-d1 (the backend's cloud entry).
    """
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
        name=name,
        argv=argv,
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=log_dir / f"{name}.log",
        cwd=CF_D1_DIR,
        env=tool_env(WRANGLER_ENV),
        # wrangler treats SIGINT as Ctrl-C: it disposes workerd and exits 0 (SIGTERM exits 143).
        stop_signal=signal.SIGINT,
    )


def twin(
    port: int,
    settings: Mapping[str, str],
    log_path: Path,
    args: Sequence[str] = (),
    *,
    inherit_env: bool = False,
    name: str = "gateway",
) -> Service:
    """The gateway twin (``python -m local_runner``) on 127.0.0.1:``port`` with ``settings``.

    By default the twin sees only ``settings`` (no ``.env`` file, a clean
    environment), so a test's configuration is exactly what it passes;
    ``make run`` sets ``inherit_env`` so a user's variables (``API_KEY``) apply.
    """
    argv = [sys.executable, "-m", "local_runner", "--host", "127.0.0.1", "--port", str(port)]
    if not inherit_env:
        argv += ["--env-file", "/dev/null"]
    return Service(
        name=name,
        argv=[*argv, *args],
        health_url=f"http://127.0.0.1:{port}/_gateway/health",
        log_path=log_path,
        env=tool_env({"PYTHONUNBUFFERED": "1", **settings}, inherit=inherit_env),
    )


# -- the Worker on real workerd (harness/workerd/README.md) ------------------------------------

WORKERD_SCRIPTS = REPO / "harness" / "workerd"
#: The dev overlay `make run-worker` uses (git-ignored, like all of .cache/).
WORKER_OVERLAY = REPO / ".cache" / "workerd" / "wrangler.dev.json"
_DEV_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def workerd_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for wrangler/Miniflare running workerd on the offline Pyodide bundle."""
    return tool_env(
        {
            **WRANGLER_ENV,
            "MINIFLARE_WORKERD_PATH": str(WORKERD_SCRIPTS / "workerd-offline"),
            "CLOUDFLARE_CF_FETCH_ENABLED": "false",  # no attempt to download Request.cf data
            **(extra or {}),
        },
        inherit=False,
    )


def workerd_overlay(out: Path = WORKER_OVERLAY, *, rate_limit: int | None = None) -> Path:
    """Write the dev overlay of wrangler.toml (``harness.workerd.overlay``) at ``out``.

    ``rate_limit`` changes the ``RATE_LIMITER`` binding's limit (per client address and
    period); ``0`` removes the binding, which turns rate limiting off. None keeps wrangler.toml's.
    """
    path = Path(overlay_config.write_overlay(out))
    if rate_limit is not None:
        overlay = json.loads(path.read_text(encoding="utf-8"))
        if rate_limit == 0:
            overlay.pop("ratelimits", None)
        else:
            for binding in overlay.get("ratelimits", []):
                binding["simple"]["limit"] = rate_limit
        text = json.dumps(overlay, indent=2) + "\n"
        if path.read_text(encoding="utf-8") != text:  # keep mtime for wrangler's watcher
            path.write_text(text, encoding="utf-8")
    return path


def write_dev_vars(path: Path, settings: Mapping[str, str]) -> Path:
    """``settings`` as a ``.dev.vars`` file (dotenv), the way wrangler dev takes secrets."""
    lines = []
    for name, value in settings.items():
        if not _DEV_VAR_NAME.match(name) or any(c in value for c in '"\\\n\r'):
            raise ValueError(f"{name}: cannot be written to a .dev.vars file")
        lines.append(f'{name}="{value}"\n')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")
    path.chmod(0o600)
    return path


def push_registry(
    backends: Sequence[Mapping[str, str]],
    file: Path,
    persist_dir: Path,
    log_dir: Path,
    *,
    config: Path = WORKER_OVERLAY,
    timeout_s: float = 120,
) -> None:
    """Write ``backends`` to ``file`` and push them into wrangler's local KV in ``persist_dir``.

    ``gateway-registry push FILE --local --prune`` (tools/gateway_registry): validated like a
    deploy, and exactly these backends afterwards. Run it while no wrangler dev holds the state.
    """
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps({"backends": list(backends)}, indent=2) + "\n", encoding="utf-8")
    workerd_overlay(config)
    argv = [
        sys.executable, "-m", "gateway_registry.cli", "push", str(file),
        "--local", "--persist-to", str(persist_dir.resolve()), "--prune",
        "--config", str(config), "--wrangler", str(NODE_BIN / "wrangler"),
    ]  # fmt: skip
    log_path = log_dir / "gateway-registry.log"
    run_logged("gateway-registry push", argv, log_path, env=workerd_env(), timeout_s=timeout_s)


def worker(
    port: int,
    settings: Mapping[str, str],
    log_dir: Path,
    *,
    kv_persist: Path,
    config: Path = WORKER_OVERLAY,
    rate_limit: int | None = None,
    name: str = "gateway",
) -> Service:
    """The gateway Worker (src/entry.py) under ``wrangler dev`` on 127.0.0.1:``port``.

    workerd runs on the offline Pyodide bundle (``MINIFLARE_WORKERD_PATH``) with the dev
    overlay ``config``; ``settings`` (vars and secrets) go in a ``.dev.vars`` file next to the
    logs, passed with ``--env-file``; KV (and D1, …) state lives in ``kv_persist``, where
    ``wrangler kv key put --local --persist-to`` and ``gateway-registry push --local`` write.
    ``rate_limit``: see :func:`workerd_overlay` (None: wrangler.toml's 600 per minute).
    """
    workerd_overlay(config, rate_limit=rate_limit)
    env_file = write_dev_vars(log_dir / f"{name}.dev.vars", settings)
    argv = [
        str(NODE_BIN / "wrangler"),
        "dev",
        "--config", str(config),
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--inspector-port", "0",
        "--persist-to", str(kv_persist.resolve()),
        "--env-file", str(env_file),
        "--show-interactive-dev-session=false",
    ]  # fmt: skip
    return Service(
        name=name,
        argv=argv,
        health_url=f"http://127.0.0.1:{port}/_gateway/health",
        log_path=log_dir / f"{name}.log",
        env=workerd_env({"WRANGLER_LOG_PATH": str(log_dir / "wrangler-logs")}),
        stop_signal=signal.SIGINT,
    )


FRONTEND_DIR = REPO / "frontend"
FRONTEND_SERVER = FRONTEND_DIR / ".next" / "standalone" / "server.js"
#: What the frontend's production build is made from (newer than the build → rebuild).
FRONTEND_SOURCES = (
    "app",
    "components",
    "lib",
    "public",
    "scripts",
    "next.config.ts",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
)


def frontend_is_built() -> bool:
    """True when the standalone build exists and no source is newer than it."""
    if not FRONTEND_SERVER.exists():
        return False
    built = FRONTEND_SERVER.stat().st_mtime
    for name in FRONTEND_SOURCES:
        path = FRONTEND_DIR / name
        for item in path.rglob("*") if path.is_dir() else [path]:
            if item.is_file() and item.stat().st_mtime > built:
                return False
    return True


def build_frontend(log_dir: Path, timeout_s: float = 900) -> None:
    """``npm ci`` (when node_modules is missing) and ``npm run build`` in frontend/, once per change."""
    if frontend_is_built():
        return
    log_path = log_dir / "frontend-build.log"
    steps = [["npm", "run", "build"]]
    if not (FRONTEND_DIR / "node_modules" / "next").exists():
        steps.insert(0, ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"])
    env = tool_env({"NEXT_TELEMETRY_DISABLED": "1"})
    for argv in steps:
        run_logged(f"frontend: `{' '.join(argv)}`", argv, log_path, env=env, cwd=FRONTEND_DIR, timeout_s=timeout_s)
    if not FRONTEND_SERVER.exists():
        raise ServiceError(f"frontend: the build did not produce {FRONTEND_SERVER}")


def frontend(port: int, gateway_url: str, log_dir: Path, *, api_key: str | None = None) -> Service:
    """The Next.js standalone server on 127.0.0.1:``port``, talking to ``gateway_url``.

    ``api_key`` is the gateway's key; it stays in this server's environment.
    """
    settings = {
        "NODE_ENV": "production",
        "NEXT_TELEMETRY_DISABLED": "1",
        "PORT": str(port),
        "HOSTNAME": "127.0.0.1",
        "GATEWAY_URL": gateway_url,
    }
    if api_key:
        settings["API_KEY"] = api_key
    return Service(
        name="frontend",
        # Node 22 from node_modules (tool_env puts it first), as in the Docker image.
        argv=["node", str(FRONTEND_SERVER)],
        health_url=f"http://127.0.0.1:{port}/api/health",
        log_path=log_dir / "frontend.log",
        cwd=FRONTEND_SERVER.parent,
        env=tool_env(settings, inherit=False),
    )
