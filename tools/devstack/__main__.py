"""Run the whole local GTD stack: bun-sqlite, cf-d1 (wrangler dev) and the gateway twin.

    .venv/bin/python scripts/run_stack.py            # from the repo root; Ctrl-C stops everything

Starts, in order:
    bun-sqlite  http://127.0.0.1:3001  data in ./data/bun-sqlite/gtd.db
    cf-d1       http://127.0.0.1:8788  D1 migrations applied, state in ./data/cf-d1/
    gateway     http://127.0.0.1:8787  python -m local_runner, ENVIRONMENT=local
waits until each is healthy, prints example requests, and on SIGINT/SIGTERM
stops them (gateway first), each process group with SIGTERM then SIGKILL
after a grace period. Logs go to ./data/logs/. Data survives restarts.
Exit status: 0 after a clean stop, 1 if a service failed to start or died.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # noqa: E402

DATA = stack.REPO / "data"


class Stop(Exception):
    """Raised by the signal handler to leave the wait loop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signum)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gateway-port", type=int, default=8787)
    parser.add_argument("--bun-port", type=int, default=3001)
    parser.add_argument("--d1-port", type=int, default=8788)
    parser.add_argument("--data-dir", type=Path, default=DATA, help="default: ./data")
    parser.add_argument("--no-gateway", action="store_true", help="run only the two backends")
    parser.add_argument("--deadline", type=float, default=90, help="seconds to wait for each service (default 90)")
    parser.add_argument("--grace", type=float, default=10, help="seconds between SIGTERM and SIGKILL (default 10)")
    return parser.parse_args(argv)


def build(args: argparse.Namespace) -> tuple[list[stack.Service], Path]:
    data: Path = args.data_dir.resolve()
    logs = data / "logs"
    bun = stack.bun_sqlite(args.bun_port, data / "bun-sqlite", logs)
    d1 = stack.cf_d1(args.d1_port, data / "cf-d1", logs)
    services = [bun, d1]
    if not args.no_gateway:
        bun_url = f"http://127.0.0.1:{args.bun_port}"
        d1_url = f"http://127.0.0.1:{args.d1_port}"
        services.append(stack.gateway(args.gateway_port, bun_url, d1_url, logs))
    return services, data


def banner(args: argparse.Namespace) -> str:
    bun, d1 = f"http://127.0.0.1:{args.bun_port}", f"http://127.0.0.1:{args.d1_port}"
    if args.no_gateway:
        return (
            f"bun-sqlite: {bun}\ncf-d1:      {d1}\n\n"
            f"  curl {bun}/tasks\n"
            f"  curl -X POST -H 'content-type: application/json' -d '{{\"title\":\"Buy milk\"}}' {d1}/tasks\n"
        )
    gw = f"http://127.0.0.1:{args.gateway_port}"
    return (
        f"Gateway: {gw}   (backends: bun-sqlite {bun}, cf-d1 {d1})\n\n"
        f"  curl -H 'x-backend: bun-sqlite' {gw}/tasks\n"
        f"  curl -H 'x-backend: cf-d1' -H 'content-type: application/json' "
        f"-d '{{\"title\":\"Buy milk\"}}' {gw}/tasks\n"
        f"  curl -i -H 'x-backend: nope' {gw}/tasks      # 400: unknown backend\n"
    )


def log(message: str) -> None:
    print(f"[run_stack] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    services, data = build(args)
    started: list[stack.Service] = []
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    status = 0
    try:
        log("applying D1 migrations")
        stack.apply_d1_migrations(data / "cf-d1", data / "logs")
        for service in services:
            log(f"starting {service.name} (log: {service.log_path})")
            started.append(service)  # before start(): a signal mid-start must still stop it
            service.start()
            service.wait_healthy(time.monotonic() + args.deadline)
            log(f"{service.name} is healthy at {service.health_url}")
        print(banner(args), flush=True)
        log("all healthy; Ctrl-C to stop")
        while True:
            for service in started:
                assert service.process is not None
                code = service.process.poll()
                if code is not None:
                    raise stack.StackError(
                        f"{service.name} exited with status {code}.\n"
                        f"--- last lines of {service.log_path} ---\n{stack.tail(service.log_path)}"
                    )
            time.sleep(0.5)
    except Stop as stop:
        log(f"{stop}: stopping")
    except stack.StackError as exc:
        log(f"error: {exc}")
        status = 1
    finally:
        # Ignore further signals while cleaning up so a second Ctrl-C cannot orphan children.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for service in reversed(started):
            code = service.stop(grace=args.grace)
            log(f"stopped {service.name} (status {code})")
    return status


if __name__ == "__main__":
    sys.exit(main())
