"""The backends under test and the gateway twin in front of them, each on a fresh database, stopped on the way out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import log
from harness import services
from harness.process import Service, free_port, start_healthy

BACKENDS = ("bun-sqlite", "cf-d1", "ruby-sqlite", "python-postgres", "elixir-sqlite")
START_TIMEOUT_S = 120.0


@dataclass
class Stack:
    """The running backends (id → base URL) and the gateway."""

    urls: dict[str, str] = field(default_factory=dict)
    gateway: str = ""
    pids: dict[str, int] = field(default_factory=dict)


@contextmanager
def running_stack(backends: list[str], workdir: Path) -> Iterator[Stack]:
    """Start the chosen backends and the gateway twin; stop everything on the way out."""
    logs = workdir / "logs"
    stack = Stack()
    with ExitStack() as stop:
        for backend_id in backends:
            port = free_port()
            if backend_id == "bun-sqlite":
                service = services.bun_sqlite(port, workdir / "bun-sqlite", logs)
            elif backend_id == "ruby-sqlite":
                service = services.ruby_sqlite(port, workdir / "ruby-sqlite", logs)
            elif backend_id == "elixir-sqlite":
                service = services.elixir_sqlite(port, workdir / "elixir-sqlite", logs)
            elif backend_id == "cf-d1":
                services.apply_d1_migrations(workdir / "cf-d1", logs)
                service = services.cf_d1(port, workdir / "cf-d1", logs, inspector_port=free_port())
            elif backend_id == "python-postgres":
                database = services.postgres(workdir / "postgres", free_port(), logs)
                database.start()
                stop.callback(database.stop, mode="fast")
                service = services.python_postgres(port, database.database_url, logs)
            else:
                raise SystemExit(f"unknown backend {backend_id!r} (known: {', '.join(BACKENDS)})")
            _start(stop, service)
            stack.urls[backend_id] = f"http://127.0.0.1:{port}"
            assert service.process is not None
            stack.pids[backend_id] = service.process.pid
        port = free_port()
        settings = {"ENVIRONMENT": "local", "HEALTH_TTL_S": "30"}
        for backend_id, url in stack.urls.items():
            settings[f"BACKEND_{backend_id.upper().replace('-', '_')}_URL"] = url
        gateway = services.twin(
            port, settings, logs / "gateway.log", ["--log-file", str(logs / "gateway-requests.log")]
        )
        _start(stop, gateway)
        stack.gateway = f"http://127.0.0.1:{port}"
        assert gateway.process is not None
        stack.pids["gateway"] = gateway.process.pid
        yield stack


def _start(stop: ExitStack, service: Service) -> None:
    log(f"starting {service.name}")
    start_healthy(service, START_TIMEOUT_S)
    stop.callback(service.stop, grace_s=10)
