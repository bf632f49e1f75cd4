"""Run the whole local GTD stack: the backends, the gateway twin and the web app.

    .venv/bin/python -m devstack                   # what `make run` does; Ctrl-C stops everything
    .venv/bin/python -m devstack --gateway worker  # `make run-worker`: the gateway is the Worker

Starts, in order:
    bun-sqlite  http://127.0.0.1:3001  data in ./data/bun-sqlite/gtd.db
    cf-d1       http://127.0.0.1:8788  D1 migrations applied, state in ./data/cf-d1/
    cf-d1-cloud-stand-in  http://127.0.0.1:8789  a second D1 Worker standing in for the
                deployed cf-d1 (its cloud entry), state in ./data/cf-d1-cloud/
    ruby-sqlite http://127.0.0.1:3003  Sinatra on Puma, data in ./data/ruby-sqlite/gtd.db
    elixir-sqlite  http://127.0.0.1:3005  mochiweb + SQLite on Erlang/OTP (Debian's Elixir),
                data in ./data/elixir-sqlite/gtd.db
    python-postgres  http://127.0.0.1:3004  Starlette + asyncpg; its own PostgreSQL on
                127.0.0.1:54329, initdb into ./data/postgres on the first run
    gateway     http://127.0.0.1:8787  python -m local_runner, ENVIRONMENT=local; or, with
                --gateway worker, the Worker (src/entry.py) under wrangler dev on real workerd
                (offline Pyodide bundle), ENVIRONMENT=cloud, its backends from wrangler's local
                KV in ./data/worker/, pushed by `gateway-registry push --local` from the
                generated ./data/backends.local.json
    frontend    http://127.0.0.1:3000  the Next.js app (built once per change), API_KEY from the environment
waits until each is healthy, prints example requests, then watches them
(harness.supervise): a service that exits is logged, marked down and
restarted with back-off (0.5 s doubling to 30 s) while the others keep
running; its state is in ./data/run/services.json. On SIGINT/SIGTERM it
stops them (gateway first), each process group with SIGTERM then SIGKILL
after a grace period. Logs go to ./data/logs/. Data survives restarts.
Exit status: 0 after a clean stop, 1 if a service could not start the first time.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from pgserver import PgServer

from harness import services, supervise
from harness.process import REPO, Service, free_port

DATA = REPO / "data"
#: The second cf-d1 instance: named for what it is wherever it is printed.
CLOUD_STAND_IN = "cf-d1-cloud-stand-in"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateway-port", type=int, default=8787)
    parser.add_argument("--bun-port", type=int, default=3001)
    parser.add_argument("--d1-port", type=int, default=8788)
    parser.add_argument("--ruby-port", type=int, default=3003)
    parser.add_argument("--python-port", type=int, default=3004)
    parser.add_argument("--elixir-port", type=int, default=3005)
    parser.add_argument("--postgres-port", type=int, default=54329, help="the private PostgreSQL server")
    parser.add_argument(
        "--d1-cloud-port", type=int, default=8789, help="the stand-in for the deployed cf-d1 (its cloud entry)"
    )
    parser.add_argument("--data-dir", type=Path, default=DATA, help="default: ./data")
    parser.add_argument("--frontend-port", type=int, default=3000)
    parser.add_argument(
        "--gateway",
        choices=("twin", "worker"),
        default="twin",
        help="twin: python -m local_runner (default); worker: the Worker under wrangler dev, cloud mode over KV",
    )
    parser.add_argument("--no-gateway", action="store_true", help="run only the backends")
    parser.add_argument("--no-frontend", action="store_true", help="do not build or start the web app")
    parser.add_argument("--deadline", type=float, default=90, help="seconds to wait for each service (default 90)")
    parser.add_argument("--grace", type=float, default=10, help="seconds between SIGTERM and SIGKILL (default 10)")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> tuple[list[Service], PgServer, Path]:
    data: Path = args.data_dir.resolve()
    logs = data / "logs"
    database = services.postgres(data / "postgres", args.postgres_port, logs)
    stack = [
        services.bun_sqlite(args.bun_port, data / "bun-sqlite", logs),
        services.cf_d1(args.d1_port, data / "cf-d1", logs, inspector_port=free_port()),
        # A second D1 Worker with its own state stands in for the deployed one,
        # so `x-backend-location: cloud` works here and shows other data.
        services.cf_d1(args.d1_cloud_port, data / "cf-d1-cloud", logs, inspector_port=free_port(), name=CLOUD_STAND_IN),
        services.ruby_sqlite(args.ruby_port, data / "ruby-sqlite", logs),
        services.elixir_sqlite(args.elixir_port, data / "elixir-sqlite", logs),
        services.python_postgres(args.python_port, database.database_url, logs),
    ]
    if not args.no_gateway:
        settings = {
            "ENVIRONMENT": "local",
            "BACKEND_BUN_SQLITE_URL": f"http://127.0.0.1:{args.bun_port}",
            "BACKEND_CF_D1_URL": f"http://127.0.0.1:{args.d1_port}",
            "BACKEND_CF_D1_CLOUD_URL": f"http://127.0.0.1:{args.d1_cloud_port}",
            "BACKEND_RUBY_SQLITE_URL": f"http://127.0.0.1:{args.ruby_port}",
            "BACKEND_PYTHON_POSTGRES_URL": f"http://127.0.0.1:{args.python_port}",
            "BACKEND_ELIXIR_SQLITE_URL": f"http://127.0.0.1:{args.elixir_port}",
        }
        if args.gateway == "worker":
            stack.append(worker_gateway(args, data, logs))
        else:
            # The user's environment and .env apply (API_KEY, CORS_ALLOW_ORIGINS, ...).
            stack.append(services.twin(args.gateway_port, settings, logs / "gateway.log", inherit_env=True))
        if not args.no_frontend:
            gateway_url = f"http://127.0.0.1:{args.gateway_port}"
            api_key = os.environ.get("API_KEY") or None
            stack.append(services.frontend(args.frontend_port, gateway_url, logs, api_key=api_key))
    return stack, database, data


#: Settings a user's environment passes to the Worker gateway (the twin inherits the whole environment).
WORKER_SETTINGS_FROM_ENV = (
    "API_KEY",
    "CORS_ALLOW_ORIGINS",
    "DEFAULT_BACKEND",
    "UPSTREAM_TIMEOUT_MS",
    "HEALTH_TTL_S",
    "HEALTH_RETRY_S",
    "HEALTH_TIMEOUT_MS",
    "OUTLIER_CONSECUTIVE_5XX",
    "REGISTRY_TTL_S",
    "REGISTRY_STALE_S",
    "MAX_HEADER_BYTES",
    "MAX_BODY_BYTES",
)


def worker_backends(args: argparse.Namespace) -> list[dict[str, str]]:
    """The registry documents of the Worker gateway: one cloud entry per backend of the stack.

    Cloud entries may be http for loopback hosts. cf-d1's cloud entry is the stand-in for the
    deployed cf-d1, as for the twin's `x-backend-location: cloud`.
    """
    return [
        {"id": "bun-sqlite", "name": "Bun + SQLite", "url": f"http://127.0.0.1:{args.bun_port}"},
        {"id": "cf-d1", "name": "Cloudflare D1 (cloud stand-in)", "url": f"http://127.0.0.1:{args.d1_cloud_port}"},
        {"id": "ruby-sqlite", "name": "Ruby + SQLite", "url": f"http://127.0.0.1:{args.ruby_port}"},
        {"id": "python-postgres", "name": "Python + PostgreSQL", "url": f"http://127.0.0.1:{args.python_port}"},
        {"id": "elixir-sqlite", "name": "Elixir + SQLite", "url": f"http://127.0.0.1:{args.elixir_port}"},
    ]


def worker_gateway(args: argparse.Namespace, data: Path, logs: Path) -> Service:
    """The Worker gateway's Service, its registry pushed into wrangler's local KV first."""
    documents = [
        {**doc, "type": "cloud", "region": "local", "healthEndpoint": "/health"} for doc in worker_backends(args)
    ]
    persist = data / "worker"
    log(f"pushing {len(documents)} backends into the Worker's local KV ({persist})")
    services.push_registry(documents, data / "backends.local.json", persist, logs)
    settings = {"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "bun-sqlite"}
    settings.update({name: os.environ[name] for name in WORKER_SETTINGS_FROM_ENV if os.environ.get(name)})
    return services.worker(args.gateway_port, settings, logs, kv_persist=persist)


def banner(args: argparse.Namespace, stack: list[Service]) -> str:
    """What to open and what to type: every service's URL, then example requests."""
    width = max(len(service.name) for service in stack)
    lines = [f"  {service.name:<{width}}  {origin(service.health_url or '')}" for service in stack]
    if args.no_gateway:
        return "\n".join(["Backends:", *lines, ""])
    gw = f"http://127.0.0.1:{args.gateway_port}"
    app = [] if args.no_frontend else [f"Open the app: http://127.0.0.1:{args.frontend_port}", ""]
    if args.gateway == "worker":
        return "\n".join(
            [
                *app,
                f"Gateway: {gw}  (the Worker under wrangler dev, ENVIRONMENT=cloud; "
                f"registry: {args.data_dir.resolve() / 'backends.local.json'})",
                *lines,
                "",
                f"  curl {gw}/tasks                               # DEFAULT_BACKEND: bun-sqlite",
                f"  curl -H 'x-backend: ruby-sqlite' {gw}/tasks",
                f"  curl -H 'x-backend: elixir-sqlite' {gw}/tasks",
                f"  curl -H 'x-backend: python-postgres' {gw}/tasks",
                f"  curl -H 'x-backend: cf-d1' {gw}/tasks         # the cloud stand-in",
                f"  curl {gw}/_gateway/backends",
                f"  curl -i -H 'x-backend-location: local' {gw}/tasks   # 400: a cloud gateway never routes locally",
                "",
            ]
        )
    task = "-H 'content-type: application/json' -d '{\"title\":\"Buy milk\"}'"
    return "\n".join(
        [
            *app,
            f"Gateway: {gw}",
            *lines,
            "",
            f"  curl -H 'x-backend: bun-sqlite' {gw}/tasks",
            f"  curl -H 'x-backend: ruby-sqlite' {task} {gw}/tasks",
            f"  curl -H 'x-backend: elixir-sqlite' {task} {gw}/tasks",
            f"  curl -H 'x-backend: python-postgres' {gw}/tasks",
            f"  curl -H 'x-backend: cf-d1' {task} {gw}/tasks",
            f"  curl -H 'x-backend: cf-d1' -H 'x-backend-location: cloud' {gw}/tasks   # the cloud stand-in: other data",
            f"  curl {gw}/_gateway/backends",
            f"  curl -i -H 'x-backend: nope' {gw}/tasks      # 400: unknown backend",
            "",
        ]
    )


def origin(url: str) -> str:
    """``http://host:port`` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def log(message: str) -> None:
    print(f"[run_stack] {message}", file=sys.stderr, flush=True)


def state_file(data_dir: Path) -> Path:
    """Where the launcher keeps the live state of its services (``harness.supervise``)."""
    return data_dir.resolve() / "run" / "services.json"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stack, database, data = build(args)
    live = state_file(data)

    def prepare() -> None:
        log("applying D1 migrations")
        for state in ("cf-d1", "cf-d1-cloud"):
            services.apply_d1_migrations(data / state, data / "logs")
        if any(service.name == "frontend" for service in stack):
            log("building the web app (once per change; log: data/logs/frontend-build.log)")
            services.build_frontend(data / "logs")

    # PostgreSQL first: python-postgres needs it. Each unit is started, waited for, then watched
    # and restarted if it exits (supervise.run); the others keep running meanwhile.
    return supervise.run(
        [supervise.Postgres(database), *stack],
        state_file=live,
        deadline_s=args.deadline,
        grace_s=args.grace,
        prepare=prepare,
        banner=lambda: banner(args, stack) + f"Live state of the services: {live}\n",
    )


if __name__ == "__main__":
    sys.exit(main())
