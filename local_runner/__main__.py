"""``python -m local_runner``: serve the gateway under CPython.

    python -m local_runner [--host 127.0.0.1] [--port 8787] [--workers N|auto]
                           [--kv-path FILE] [--env-file .env] [--log-file FILE] [--kv-fault-file FILE]
    python -m local_runner kv --kv-path FILE {get,put,list,delete} ...

Settings come from the environment, over an optional ``.env`` file. A bad
setting stops the twin before it listens, naming the variable (exit 2).
``--workers`` (or ``GATEWAY_WORKERS``; default 1) above 1 starts a
supervisor and that many worker processes on the port (``supervisor.py``);
with 1 the twin is this one process, as it always was.
Besides the gateway's settings the twin reads its own server knobs
(:class:`ServerLimits`); docs/hardening.md describes them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway.app import Gateway
from gateway.settings import Settings, SettingsError

from .config import ServerLimits, read_env_file
from .http_server import HttpServer
from .kv import FaultInjectingKV, SqliteKV
from .platform import LineLog, Tasks, build_platform
from .supervisor import WORKER_KV_BUSY_S, SharedState, Supervisor, die_with_parent, parse_workers
from .upstream_client import HttpFetch

SHUTDOWN_GRACE_S = 10.0
#: The variable ``--workers`` defaults to (the Docker image sets it).
WORKERS_VARIABLE = "GATEWAY_WORKERS"
#: How long an idle keep-alive connection is kept (nginx's default).
KEEPALIVE_TIMEOUT_S = 75.0
#: After an answer that went out before its request body was in (401, 413 by
#: Content-Length), the server reads and drops the rest of the body so the
#: client sees the answer rather than a reset; this long at most.
LINGERING_TIME_S = 2.0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["kv"]:
        return kv_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m local_runner", description="Serve the gateway under CPython.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument(
        "--workers",
        help=f"worker processes serving the port: N or 'auto' (one per usable CPU); default ${WORKERS_VARIABLE}, else 1",
    )
    # Set by the supervisor on the workers it starts: its shared-state directory.
    parser.add_argument("--worker-state", help=argparse.SUPPRESS)
    parser.add_argument("--kv-path", help="SQLite file standing in for the BACKEND_CONFIG_KV binding")
    parser.add_argument("--env-file", default=".env", help="optional KEY=VALUE file; the environment wins")
    parser.add_argument("--log-file", help="append JSON log lines here instead of stdout")
    parser.add_argument(
        "--kv-fault-file",
        help="fault injection for tests: while this file exists, every KV call fails",
    )
    args = parser.parse_args(argv)

    env: dict[str, str] = {}
    if os.path.exists(args.env_file):
        try:
            env.update(read_env_file(args.env_file))
        except ValueError as exc:
            return _fail(str(exc))
    env.update(os.environ)
    try:
        settings = Settings.from_env(env)
        limits = ServerLimits.from_env(env)
    except SettingsError as exc:
        return _fail(str(exc))
    workers_text = args.workers if args.workers is not None else env.get(WORKERS_VARIABLE, "1")
    try:
        workers = parse_workers(workers_text)
    except ValueError as exc:
        where = "--workers" if args.workers is not None else WORKERS_VARIABLE
        parser.error(f"{where}: {exc}")  # exits 2 with the usage line
    if args.worker_state is None and workers > 1:
        return supervise(args, argv, settings, workers)
    if args.worker_state is not None:
        die_with_parent(Path(args.worker_state))
    try:
        import uvloop  # optional: a faster event loop where installed
    except ImportError:
        return asyncio.run(serve(args, settings, limits))
    return uvloop.run(serve(args, settings, limits))


def supervise(args: argparse.Namespace, argv: Sequence[str], settings: Settings, workers: int) -> int:
    """Prepare the shared state, then run ``workers`` copies of this command under a supervisor."""
    if settings.environment == "cloud" and not args.kv_path:
        return _fail(
            "BACKEND_CONFIG_KV: binding is required when ENVIRONMENT=cloud (start the twin with --kv-path FILE)"
        )
    state = SharedState.create(
        rate_limited=bool(settings.rate_limit_requests), kv_path=args.kv_path, local=settings.environment == "local"
    )
    # The workers get this command line, with one worker each and the shared directory.
    base = [sys.executable, "-m", "local_runner", *argv, "--workers", "1", "--worker-state", str(state.root)]
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(state.metrics_dir)}
    try:
        return Supervisor(workers, lambda _index: base, env, state.metrics_dir, SHUTDOWN_GRACE_S).run()
    finally:
        state.remove()


async def serve(args: argparse.Namespace, settings: Settings, limits: ServerLimits) -> int:
    loop = asyncio.get_running_loop()
    log_stream = open(args.log_file, "a", encoding="utf-8", buffering=1 << 16) if args.log_file else None  # noqa: ASYNC230, SIM115 — opened once at start-up, closed at shutdown
    log = LineLog(log_stream)
    tasks = Tasks()
    shared = SharedState.of(Path(args.worker_state)) if args.worker_state is not None else None
    kv_path = args.kv_path
    if kv_path is None and shared is not None and shared.health_kv is not None:
        kv_path = str(shared.health_kv)  # the workers' private KV: health results shared, nothing else
    # Workers share the file: a lock another worker holds is waited for briefly, not failed on.
    kv = SqliteKV(kv_path, busy_timeout_s=WORKER_KV_BUSY_S if shared is not None else 0.0) if kv_path else None
    platform_kv = FaultInjectingKV(kv, args.kv_fault_file) if kv is not None and args.kv_fault_file else kv
    # UPSTREAM_TIMEOUT_MS also bounds each wait for the next piece of an upstream body.
    fetch = HttpFetch(body_idle_timeout_s=settings.upstream_timeout_s)
    rate_limit = (settings.rate_limit_requests, settings.rate_limit_period_s) if settings.rate_limit_requests else None
    rate_table = shared.rate_table if shared is not None else None
    platform = build_platform(
        fetch, log=log, tasks=tasks, kv=platform_kv, rate_limit=rate_limit, rate_limit_table=rate_table
    )
    try:
        gateway = Gateway(settings, platform)
    except SettingsError as exc:
        await fetch.close()
        hint = " (start the twin with --kv-path FILE)" if exc.variable == "BACKEND_CONFIG_KV" else ""
        return _fail(f"{exc}{hint}")

    own_host = f"{args.host}:{args.port}" if ":" not in args.host else f"[{args.host}]:{args.port}"
    http_server = HttpServer(
        gateway.handle,
        own_host=own_host,
        log=log,
        max_head_bytes=settings.max_header_bytes,
        max_body_bytes=settings.max_body_bytes,
        header_timeout_s=limits.header_timeout_s,
        body_timeout_s=limits.body_timeout_s,
        keepalive_timeout_s=KEEPALIVE_TIMEOUT_S,
        lingering_time_s=LINGERING_TIME_S,
    )
    try:
        # Workers each listen with SO_REUSEPORT: the kernel spreads new connections over them (design.md).
        server = await loop.create_server(
            http_server, args.host, args.port, reuse_address=True, reuse_port=shared is not None, backlog=2048
        )
    except OSError as exc:
        await fetch.close()
        return _fail(f"cannot listen on {own_host}: {exc.strerror or exc}")

    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async def flush_logs() -> None:
        while True:
            await asyncio.sleep(0.5)
            log.flush()

    flusher = asyncio.ensure_future(flush_logs())
    print(f"gateway listening on http://{own_host} (environment={settings.environment})", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()
        await http_server.shutdown(SHUTDOWN_GRACE_S)
        await tasks.drain(SHUTDOWN_GRACE_S)
        flusher.cancel()
        await fetch.close()
        log.flush()
        if kv is not None:
            kv.close()
        if log_stream is not None:
            log_stream.close()
    print("gateway stopped", file=sys.stderr, flush=True)
    return 0


def kv_main(argv: Sequence[str]) -> int:
    """Read and write the twin's SQLite KV, the way ``wrangler kv key`` does for Workers KV."""
    parser = argparse.ArgumentParser(prog="python -m local_runner kv")
    parser.add_argument("--kv-path", required=True)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("get").add_argument("key")
    put = sub.add_parser("put")
    put.add_argument("key")
    put.add_argument("value")
    put.add_argument("--ttl", type=int)
    sub.add_parser("list").add_argument("--prefix", default="")
    sub.add_parser("delete").add_argument("key")
    args = parser.parse_args(argv)
    kv = SqliteKV(args.kv_path, busy_timeout_s=5.0)  # a person at a shell can wait for a lock

    async def run() -> int:
        if args.command == "get":
            value = await kv.get(args.key)
            if value is None:
                return _fail(f"no such key: {args.key}")
            print(value)
        elif args.command == "put":
            await kv.put(args.key, args.value, expiration_ttl=args.ttl)
        elif args.command == "list":
            for key in await kv.list(args.prefix):
                print(key)
        else:
            await kv.delete(args.key)
        return 0

    try:
        return asyncio.run(run())
    finally:
        kv.close()


def _fail(message: str) -> int:
    print(f"local_runner: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
