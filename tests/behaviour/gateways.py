"""Start the gateway on any of three runtimes, as a real HTTP server on 127.0.0.1.

* ``cpython``: the twin, ``python -m local_runner`` (KV = its SQLite file).
* ``pyodide``: ``node harness/pyodide/harness.mjs``, the Worker in Pyodide
  0.28.2 behind a tiny stand-in for workerd (KV = Miniflare's KV namespace).
* ``workerd``: ``node harness/workerd/launch.mjs`` (harness.workerd.launch), the unchanged
  Worker on real workerd through Miniflare's API, with the offline dev
  Pyodide bundle (harness/workerd/README.md); settings and secrets from a
  ``.dev.vars`` file, KV = Miniflare's KV namespace behind a wrapper that can
  fail on demand, ``RATE_LIMITER`` = Miniflare's binding as wrangler.toml
  declares it.

``analytics=True`` (the two Worker runtimes) binds ``GATEWAY_ANALYTICS`` to a
recording Analytics Engine dataset whose points appear in :meth:`Gateway.events`
as ``analytics_data_point`` (harness/pyodide/analytics_dataset.mjs).

All are driven through one :class:`Gateway` interface, so a behaviour case
is written once. ``instances=2`` gives two gateways sharing one KV: two twin
processes on one SQLite file, two Pyodide isolates in one harness, or two
Workers (two isolates) in one workerd.

The runtime is chosen here and nowhere else (:func:`start_gateway`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

from harness.process import REPO as ROOT
from harness.process import Service, ServiceError, free_port, start_healthy, tool_env
from harness.services import twin
from local_runner.kv import SqliteKV
from tests.support.processes import WORKER_START_S

HARNESS = ROOT / "harness" / "pyodide" / "harness.mjs"
RUNTIMES = ("cpython", "pyodide", "workerd")
#: The twins start in seconds; the Worker runtimes load Pyodide first (one deadline for every suite).
START_TIMEOUT_S = WORKER_START_S


class Gateway:
    """A running gateway under test; see the module docstring."""

    runtime: str

    def __init__(self, runtime: str, workdir: Path) -> None:
        self.runtime = runtime
        self.workdir = workdir
        self.services: list[Service] = []
        self.client = httpx.Client(timeout=60.0)

    # -- requests ---------------------------------------------------------
    def url(self, instance: int = 0) -> str:
        raise NotImplementedError

    def headers_for(self, instance: int) -> dict[str, str]:
        return {}

    def request(
        self, method: str, path: str, *, instance: int = 0, headers: Mapping[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.client.request(
            method, self.url(instance) + path, headers={**self.headers_for(instance), **(headers or {})}, **kw
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    @contextmanager
    def stream(
        self, method: str, path: str, *, instance: int = 0, headers: Mapping[str, str] | None = None, **kw: Any
    ) -> Iterator[httpx.Response]:
        with self.client.stream(
            method, self.url(instance) + path, headers={**self.headers_for(instance), **(headers or {})}, **kw
        ) as response:
            yield response

    # -- logs ---------------------------------------------------------------
    def output(self) -> str:
        return "".join(service.output() for service in self.services)

    def log_records(self) -> list[dict[str, Any]]:
        records = []
        for line in self.output().splitlines():
            if line.startswith("{"):
                with suppress(ValueError):
                    records.append(json.loads(line))
        return records

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.log_records() if r.get("event") == name]

    def wait_for_event(self, name: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Log lines are flushed asynchronously by every runtime; wait for one to appear."""
        deadline = time.monotonic() + timeout_s
        while not (found := self.events(name)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    # -- KV -----------------------------------------------------------------
    def kv_put(self, key: str, value: str, ttl: int | None = None) -> None:
        raise NotImplementedError

    def kv_put_many(self, entries: Mapping[str, str]) -> None:
        for key, value in entries.items():
            self.kv_put(key, value)

    def kv_get(self, key: str) -> str | None:
        raise NotImplementedError

    def kv_get_eventually(self, key: str, timeout_s: float = 10.0) -> str | None:
        """Deferred work (waitUntil / background tasks) writes KV after the answer."""
        deadline = time.monotonic() + timeout_s
        while (value := self.kv_get(key)) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        return value

    @contextmanager
    def kv_outage(self) -> Iterator[None]:
        """While inside, every KV operation of the gateway fails."""
        raise NotImplementedError
        yield

    def stop(self) -> None:
        self.client.close()
        for service in self.services:
            service.stop(grace_s=15)


class TwinGateway(Gateway):
    def __init__(self, workdir: Path, env: Mapping[str, str], *, kv: bool, instances: int) -> None:
        super().__init__("cpython", workdir)
        self.kv_path = workdir / "kv.sqlite3" if kv else None
        self.ports: list[int] = []
        if self.kv_path is not None:
            self._kv().close()  # create the schema before the twins open the file
        self._env = env
        self._instances = instances

    def start(self) -> TwinGateway:
        extra = ["--kv-path", str(self.kv_path)] if self.kv_path else []
        for i in range(self._instances):
            port = free_port()
            service = twin(port, self._env, self.workdir / f"twin-{i}.log", extra)
            self.services.append(service)
            self.ports.append(port)
            start_healthy(service, START_TIMEOUT_S)
        return self

    def url(self, instance: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[instance]}"

    def _kv(self) -> SqliteKV:
        return SqliteKV(str(self.kv_path))

    def kv_put(self, key: str, value: str, ttl: int | None = None) -> None:
        kv = self._kv()
        try:
            asyncio.run(kv.put(key, value, expiration_ttl=ttl))
        finally:
            kv.close()

    def kv_put_many(self, entries: Mapping[str, str]) -> None:
        kv = self._kv()

        async def put_all() -> None:
            for key, value in entries.items():
                await kv.put(key, value)

        try:
            asyncio.run(put_all())
        finally:
            kv.close()

    def kv_get(self, key: str) -> str | None:
        kv = self._kv()
        try:
            return asyncio.run(kv.get(key))
        finally:
            kv.close()

    @contextmanager
    def kv_outage(self) -> Iterator[None]:
        # The twin's SQLite KV keeps one table, ``kv`` (local_runner.kv.SqliteKV);
        # renaming it makes every query of the running twin fail at once.
        db = sqlite3.connect(str(self.kv_path), isolation_level=None)
        try:
            db.execute("ALTER TABLE kv RENAME TO kv_outage")
            yield
        finally:
            db.execute("ALTER TABLE kv_outage RENAME TO kv")
            db.close()


class HarnessGateway(Gateway):
    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str],
        *,
        kv: bool,
        instances: int,
        kv_persist: Path | None = None,
        kv_namespace_id: str | None = None,
        analytics: bool = False,
    ) -> None:
        super().__init__("pyodide", workdir)
        self._env = dict(env)
        self._analytics = analytics
        self._kv = kv
        self._instances = instances
        self._kv_persist = kv_persist or workdir / "miniflare"
        self._kv_namespace_id = kv_namespace_id
        self.fail_file = workdir / "kv-down"
        self.port = 0

    def start(self) -> HarnessGateway:
        from harness.pyodide.fetch_sdk import ensure_wheel

        wheel = ensure_wheel()
        vars_file = self.workdir / "vars.json"
        vars_file.write_text(json.dumps(self._env))
        args = [
            "node",
            # JSPI: the harness calls on_fetch promising, as workerd does (isolate.mjs).
            "--experimental-wasm-stack-switching",
            str(HARNESS),
            "--port",
            "0",
            "--vars-file",
            str(vars_file),
            "--wheel",
            str(wheel),
            "--isolates",
            str(self._instances),
        ]
        if self._kv:
            args += ["--kv-persist", str(self._kv_persist), "--kv-fail-file", str(self.fail_file)]
            if self._kv_namespace_id:
                args += ["--kv-namespace-id", self._kv_namespace_id]
        else:
            args += ["--no-kv"]
        if self._env.get("RATE_LIMIT_REQUESTS"):
            args += ["--rate-limit", self._env["RATE_LIMIT_REQUESTS"]]
        if self._analytics:
            args += ["--analytics"]
        service = Service("harness", args, log_path=self.workdir / "harness.log", env=tool_env(inherit=False))
        self.services.append(service)
        service.start().wait_until(self._ready, timeout_s=START_TIMEOUT_S, what="READY")
        return self

    def _ready(self) -> bool:
        for line in self.output().splitlines():
            if line.startswith("READY "):
                self.port = int(line.split()[1])
                return True
        return False

    def url(self, instance: int = 0) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers_for(self, instance: int) -> dict[str, str]:
        return {"x-harness-isolate": str(instance)} if instance else {}

    def _control(self, command: str, **kw: Any) -> httpx.Response:
        headers = {"x-harness-control": command, **kw.pop("headers", {})}
        return self.client.post(self.url(), headers=headers, **kw)

    def kv_put(self, key: str, value: str, ttl: int | None = None) -> None:
        body = {"key": key, "value": value, **({"expirationTtl": ttl} if ttl else {})}
        self._control("kv-put", json=body).raise_for_status()

    def kv_put_many(self, entries: Mapping[str, str]) -> None:
        body = [{"key": key, "value": value} for key, value in entries.items()]
        self._control("kv-put", json=body, timeout=120).raise_for_status()

    def kv_get(self, key: str) -> str | None:
        self._control("settle").raise_for_status()
        response = self._control("kv-get", headers={"x-harness-key": key})
        return None if response.status_code == 404 else response.text

    @contextmanager
    def kv_outage(self) -> Iterator[None]:
        self.fail_file.write_text("down")
        try:
            yield
        finally:
            self.fail_file.unlink()


class WorkerdGateway(Gateway):
    """The Worker on real workerd (Miniflare's API); see harness/workerd/launch.mjs."""

    def __init__(
        self, workdir: Path, env: Mapping[str, str], *, kv: bool, instances: int, analytics: bool = False
    ) -> None:
        super().__init__("workerd", workdir)
        self._env = dict(env)
        self._analytics = analytics
        self._kv = kv
        self._instances = instances
        self.base_url = ""
        self.control_url = ""

    def start(self) -> WorkerdGateway:
        from harness.services import workerd_overlay, write_dev_vars
        from harness.workerd.launch import Launch, gateway

        overlay = workerd_overlay(self.workdir / "wrangler.dev.json")
        env_file = write_dev_vars(self.workdir / ".dev.vars", self._env)
        limit = self._env.get("RATE_LIMIT_REQUESTS")
        workers = [
            gateway(
                f"gateway-{i}",
                overlay_vars=True,
                env_file=env_file,
                kv="faulty" if self._kv else None,
                rate_limit=int(limit) if limit else True,
                analytics=self._analytics,
            )
            for i in range(self._instances)
        ]
        kv_persist = self.workdir / "state" if self._kv else None
        launch = Launch("workerd", overlay, workers, log_path=self.workdir / "workerd.log", kv_persist=kv_persist)
        service = launch.service
        self.services.append(service)
        launch.start(timeout_s=START_TIMEOUT_S)
        self.base_url, self.control_url = launch.entry_url, launch.control_url or ""
        # The first request loads Pyodide and imports the gateway in each isolate: do it here,
        # so no case pays for it (and a broken import fails the start, not a case).
        for instance in range(self._instances):
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                try:
                    if self.get("/_gateway/health", instance=instance).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or not service.running():
                    raise ServiceError(f"workerd gateway {instance} never became healthy:\n{self.output()[-4000:]}")
                time.sleep(0.2)
        return self

    def url(self, instance: int = 0) -> str:
        return self.base_url

    def headers_for(self, instance: int) -> dict[str, str]:
        # Miniflare's entry Worker routes a request to the Worker this header names.
        return {"mf-route-override": f"gateway-{instance}"} if instance else {}

    def kv_put(self, key: str, value: str, ttl: int | None = None) -> None:
        body = {"key": key, "value": value, **({"expirationTtl": ttl} if ttl else {})}
        self.client.post(self.control_url + "/kv-put", json=body).raise_for_status()

    def kv_put_many(self, entries: Mapping[str, str]) -> None:
        body = [{"key": key, "value": value} for key, value in entries.items()]
        self.client.post(self.control_url + "/kv-put", json=body, timeout=120).raise_for_status()

    def kv_get(self, key: str) -> str | None:
        response = self.client.get(self.control_url + "/kv-get", params={"key": key})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.text

    @contextmanager
    def kv_outage(self) -> Iterator[None]:
        self.client.post(self.control_url + "/kv-outage/on").raise_for_status()
        try:
            yield
        finally:
            self.client.post(self.control_url + "/kv-outage/off").raise_for_status()


def start_gateway(
    runtime: str,
    workdir: Path,
    env: Mapping[str, str],
    *,
    kv: bool = False,
    instances: int = 1,
    analytics: bool = False,
) -> Gateway:
    """Start a gateway with settings ``env`` on ``runtime``; stop it with ``.stop()``."""
    workdir.mkdir(parents=True, exist_ok=True)
    gateway: Gateway
    if runtime == "cpython":
        if analytics:
            raise ValueError("the twin has no Analytics Engine binding (its metrics are Prometheus)")
        gateway = TwinGateway(workdir, env, kv=kv, instances=instances)
    else:
        cls = {"pyodide": HarnessGateway, "workerd": WorkerdGateway}[runtime]
        gateway = cls(workdir, env, kv=kv, instances=instances, analytics=analytics)
    try:
        return gateway.start()
    except BaseException:
        gateway.stop()
        raise
