"""Workers on real workerd through Miniflare's API: :class:`Launch` runs ``launch.mjs``.

    workers = [gateway("gateway-0", vars=settings, kv="faulty", rate_limit=True)]
    with Launch("workerd", overlay, workers, log_path=work / "workerd.log").start() as run:
        run.entry_url, run.control_url, run.urls

One launcher for every caller (the behaviour suite's ``workerd`` runtime, the bench's workerd
tools): a caller lists its Workers (:class:`Worker`), the launcher starts them in one workerd
and reports where they listen. ``launch.mjs``'s header documents each option.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.process import REPO, Service, ServiceError
from harness.services import workerd_env

LAUNCHER = Path(__file__).resolve().with_name("launch.mjs")
#: The gateway's source tree, the one wrangler uploads.
SRC = REPO / "src"
READY = "READY "


@dataclass(frozen=True)
class Worker:
    """One Worker (its own isolate) in the launcher's workerd.

    Code: ``src`` (every .py under it; main module ``src/entry.py``, or ``main`` beside them),
    ``main`` alone (that one file), or ``js`` (a JS module Worker).
    """

    name: str
    src: Path | None = None
    main: Path | None = None
    js: Path | None = None
    #: Plain-text bindings; ``overlay_vars`` puts the overlay's [vars] under them, ``env_file``
    #: (dotenv, as ``wrangler dev --env-file`` reads it) goes over both.
    vars: Mapping[str, str] = field(default_factory=dict)
    overlay_vars: bool = False
    env_file: Path | None = None
    #: BACKEND_CONFIG_KV: "faulty" (a wrapper that can fail on demand, with a control URL),
    #: "plain" (Miniflare's namespace), None (no binding).
    kv: Literal["faulty", "plain"] | None = None
    #: The overlay's RATE_LIMITER: False (none), True (as the overlay has it), N (limit N).
    rate_limit: bool | int = False
    #: GATEWAY_ANALYTICS as a recording dataset: points appear as log lines.
    analytics: bool = False
    #: An ``UPSTREAM`` service binding to this origin (``http://host:port``).
    upstream: str | None = None
    #: A direct socket of its own (its URL in :attr:`Launch.urls`).
    socket: bool = False

    def __post_init__(self) -> None:
        if (self.js is None) == (self.src is None and self.main is None):
            raise ValueError(f"worker {self.name!r}: give either js, or src and/or main")

    def spec(self) -> dict[str, Any]:
        """This Worker as launch.mjs reads it."""
        code: dict[str, Any]
        if self.js is not None:
            code = {"js": str(self.js)}
        else:
            python = {"src": self.src, "main": self.main}
            code = {"python": {key: str(path) for key, path in python.items() if path is not None}}
        return {
            "name": self.name,
            **code,
            "vars": dict(self.vars),
            "overlayVars": self.overlay_vars,
            **({"envFile": str(self.env_file)} if self.env_file else {}),
            **({"kv": self.kv} if self.kv else {}),
            **({"rateLimit": self.rate_limit} if self.rate_limit is not False else {}),
            "analytics": self.analytics,
            **({"upstream": self.upstream} if self.upstream else {}),
            "socket": self.socket,
        }


def gateway(name: str = "gateway", src: Path = SRC, **options: Any) -> Worker:
    """The gateway (``src/entry.py``, unchanged, or another tree's) as a :class:`Worker`."""
    return Worker(name, src=src, **options)


class Launch:
    """``node launch.mjs`` as a :class:`~harness.process.Service`, with the URLs it reported."""

    def __init__(
        self,
        name: str,
        config: Path,
        workers: Sequence[Worker],
        *,
        log_path: Path,
        kv_persist: Path | None = None,
        kv_seed: Mapping[str, str] | None = None,
        inspector_port: int | None = None,
        logs: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        """``config`` is the dev overlay (:func:`harness.services.workerd_overlay`); ``logs``
        keeps the Workers' console lines in the log (False drops them: a benchmark measures
        the Worker's cost of logging, not a reader's)."""
        if not workers:
            raise ValueError("a launch needs at least one Worker")
        self.spec_path = log_path.with_suffix(".spec.json")
        self.spec: dict[str, Any] = {
            "config": str(config),
            **({"kvPersist": str(kv_persist)} if kv_persist else {}),
            **({"kvSeed": dict(kv_seed)} if kv_seed else {}),
            **({"inspectorPort": inspector_port} if inspector_port else {}),
            "logs": logs,
            "workers": [worker.spec() for worker in workers],
        }
        argv = ["node", str(LAUNCHER), "--spec", str(self.spec_path)]
        self.service = Service(name, argv, log_path=log_path, env=env if env is not None else workerd_env())
        #: Miniflare's entry socket: the first Worker, or the one a request's
        #: ``MF-Route-Override`` header names.
        self.entry_url = ""
        #: The faulty KV's control URL (None without a "faulty" Worker).
        self.control_url: str | None = None
        #: Each Worker with ``socket=True``: its direct URL.
        self.urls: dict[str, str] = {}

    @property
    def pid(self) -> int:
        """The launcher's pid (workerd runs as its child, in its process group)."""
        return self.service.pid

    def start(self, timeout_s: float = 90.0) -> Launch:
        """Start and wait for READY (workerd listening); stop again and raise ServiceError if not."""
        self.spec_path.parent.mkdir(parents=True, exist_ok=True)
        self.spec_path.write_text(json.dumps(self.spec, indent=2), encoding="utf-8")
        self.service.start()
        try:
            self.service.wait_until(self._ready, timeout_s=timeout_s, what="READY")
        except BaseException:
            self.service.stop()
            raise
        return self

    def _ready(self) -> bool:
        for line in self.service.output().splitlines():
            if line.startswith(READY):
                try:
                    ready = json.loads(line.removeprefix(READY))
                except ValueError as exc:
                    raise ServiceError(f"{self.service.name}: unreadable READY line {line!r}") from exc
                self.entry_url, self.control_url, self.urls = ready["entry"], ready["control"], ready["workers"]
                return True
        return False

    def running(self) -> bool:
        return self.service.running()

    def output(self) -> str:
        """Everything the launcher and the Workers printed so far."""
        return self.service.output()

    def stop(self) -> int | None:
        """Stop workerd and the launcher (the whole process group); the launcher's exit status."""
        return self.service.stop()

    def __enter__(self) -> Launch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
