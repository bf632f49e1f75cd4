"""`wrangler dev` runs the gateway (src/entry.py, unchanged) on real workerd, offline.

Miniflare runs harness/workerd/workerd-offline, which gives workerd the Pyodide bundle built by
harness/workerd/build_bundle.py; the config is the overlay from harness.workerd.overlay.
Local mode gets its vars from `--var`, cloud mode from the process environment and its backend
from the local KV written by `wrangler kv key put --local`. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness import services
from harness.process import NODE_BIN, REPO, Service, ServiceError, free_port, start_healthy
from harness.workerd import overlay as overlay_config
from tests.support.processes import WORKER_START_S
from tests.support.upstream import Received, Upstream, UpstreamServer

SCRIPTS = REPO / "harness" / "workerd"
WRANGLER = NODE_BIN / "wrangler"
START_TIMEOUT_S = WORKER_START_S

pytestmark = pytest.mark.slow


# -- the upstream: tests/support/upstream.py's recording one (it echoes each request as JSON) ----
def proxied(upstream: Upstream) -> list[Received]:
    """What clients sent through the gateway, without its own health checks."""
    return [r for r in upstream.received if r.path != "/health"]


def echoed(response: httpx.Response) -> tuple[str, str]:
    """The method and request target the upstream echoed."""
    return response.json()["method"], response.json()["target"]


# -- wrangler ----------------------------------------------------------------------------------
def _env(tmp: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    return services.workerd_env({"WRANGLER_LOG_PATH": str(tmp / "wrangler-logs"), **extra})


@dataclass
class Dev:
    url: str
    log: Path
    timings: dict[str, float]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _process_group_start_times(pgid: int, comm: str) -> list[float]:
    """Wall-clock start times of the processes named ``comm`` in a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    boot = next(
        float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
    )
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        if name == comm and int(rest[2]) == pgid:
            found.append(boot + int(rest[19]) / ticks)
    return found


@contextmanager
def wrangler_dev(tmp: Path, config: Path, args: list[str], env: Mapping[str, str] = {}) -> Iterator[Dev]:
    port = free_port()
    command = [
        str(WRANGLER), "dev", "--config", str(config),
        "--ip", "127.0.0.1", "--port", str(port), "--inspector-port", "0",
        "--persist-to", str(tmp / "state"),
        "--show-interactive-dev-session=false",
        *args,
    ]  # fmt: skip
    service = Service(
        "wrangler dev",
        command,
        log_path=tmp / "wrangler-dev.log",
        health_url=f"http://127.0.0.1:{port}/_gateway/health",
        env=_env(tmp, env),
        stop_signal=signal.SIGINT,  # wrangler's Ctrl-C: it disposes workerd
    )
    started = time.time()
    try:
        start_healthy(service, START_TIMEOUT_S)
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        first_answer = time.time()
        workerd_started = min(_process_group_start_times(service.pid, "workerd"), default=started)
        dev = Dev(url=f"http://127.0.0.1:{port}", log=service.log_path, timings={})
        dev.timings = {
            "wrangler_start_to_first_answer_s": round(first_answer - started, 2),
            "workerd_start_to_first_answer_s": round(first_answer - workerd_started, 2),
        }
        yield dev
    finally:
        service.stop()


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def bundle_is_built() -> None:
    """No bundle, no Python Worker: say how to build it instead of timing out."""
    check = subprocess.run(
        [sys.executable, str(SCRIPTS / "build_bundle.py"), "--check"], capture_output=True, text=True
    )
    if check.returncode != 0:
        pytest.fail(
            "the offline Pyodide bundle (.cache/pyodide-bundle/pyodide_dev.capnp.bin) is missing or out of date; "
            f"build it with `{sys.executable} harness/workerd/build_bundle.py`:\n{check.stdout}{check.stderr}",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with UpstreamServer() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path) -> Path:
    # The overlay in tmp: no .dev.vars of the developer is read, and .wrangler/ lands here too.
    return overlay_config.write_overlay(tmp_path / "cfg" / "wrangler.dev.json")


# -- tests -------------------------------------------------------------------------------------
def test_local_mode_answers_health_and_proxies_to_the_backend_named_by_x_backend(
    tmp_path: Path, config: Path, upstream: Upstream
) -> None:
    args = ["--var", "ENVIRONMENT:local", "--var", f"BACKEND_ECHO_URL:{upstream.url}"]
    with wrangler_dev(tmp_path, config, args) as dev:
        print(f"\nworkerd timings (local): {dev.timings}")
        health = httpx.get(dev.url + "/_gateway/health", timeout=30)
        assert health.json()["environment"] == "local"

        upstream.received.clear()
        response = httpx.post(
            dev.url + "/tasks?list=inbox", headers={"x-backend": "echo"}, json={"title": "t"}, timeout=30
        )
        # wrangler dev's proxy Worker forwards the request with fetch(), which drops `Connection`
        # but keeps the names it listed: the gateway never learns they were hop-by-hop, so they
        # reach the backend here (README, "Where runtimes differ"; the behaviour suite pins the
        # other runtimes in test_local.py).
        listed = httpx.get(
            dev.url + "/listed",
            headers={"x-backend": "echo", "connection": "keep-alive, x-client-hop", "x-client-hop": "s"},
            timeout=30,
        )

    assert response.status_code == 200, response.text
    assert echoed(response) == ("POST", "/tasks?list=inbox")
    seen, hop = proxied(upstream)
    assert json.loads(seen.body) == {"title": "t"}
    assert seen.headers["x-request-id"] == response.headers["x-request-id"]
    assert listed.status_code == 200, listed.text
    assert hop.path == "/listed"
    assert hop.headers.get("x-client-hop") == "s"
    assert "x-client-hop" not in hop.headers.get("connection", "")


def test_cloud_mode_takes_env_vars_and_routes_by_the_local_kv(tmp_path: Path, config: Path, upstream: Upstream) -> None:
    document = {"id": "echo", "name": "Echo", "url": upstream.url, "type": "cloud"}
    put = subprocess.run(
        [
            str(WRANGLER),
            "kv",
            "key",
            "put",
            "--local",
            "--config",
            str(config),
            "--persist-to",
            str(tmp_path / "state"),
            "--binding",
            "BACKEND_CONFIG_KV",
            "backend:echo",
            json.dumps(document),
        ],
        cwd=REPO,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,  # a wrangler start too (no Pyodide, but a loaded box)
    )
    assert put.returncode == 0, put.stdout + put.stderr

    # CLOUDFLARE_INCLUDE_PROCESS_ENV makes wrangler pass the process environment as vars.
    env = {"CLOUDFLARE_INCLUDE_PROCESS_ENV": "true", "ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "echo"}
    with wrangler_dev(tmp_path, config, [], env) as dev:
        print(f"\nworkerd timings (cloud): {dev.timings}")
        health = httpx.get(dev.url + "/_gateway/health", timeout=30)
        upstream.received.clear()
        by_default = httpx.get(dev.url + "/projects", timeout=30)
        by_header = httpx.get(dev.url + "/tasks", headers={"x-backend": "echo"}, timeout=30)

    assert health.json()["environment"] == "cloud"
    assert (by_default.status_code, by_header.status_code) == (200, 200), by_default.text + by_header.text
    assert [r.path for r in proxied(upstream)] == ["/projects", "/tasks"]


def test_shadow_traffic_tees_bodies_and_runs_under_wait_until(tmp_path: Path, config: Path, upstream: Upstream) -> None:
    """Real workerd: the copy goes out after the answer (ctx.waitUntil), both bodies teed and compared."""
    with UpstreamServer() as mirror:
        args = [
            "--var", "ENVIRONMENT:local",
            "--var", f"BACKEND_ECHO_URL:{upstream.url}",
            "--var", f"BACKEND_MIRROR_URL:{mirror.url}",
            "--var", "SHADOW_WRITES:true",
        ]  # fmt: skip
        with wrangler_dev(tmp_path, config, args) as dev:
            headers = {"x-backend": "echo", "x-backend-shadow": "mirror", "x-request-id": "wd-shadow-1"}
            read = httpx.get(dev.url + "/tasks?status=next", headers=headers, timeout=30)
            write = httpx.post(dev.url + "/tasks", headers=headers, json={"title": "shadowed"}, timeout=30)
            deadline = time.monotonic() + 20
            report: dict = {}
            while time.monotonic() < deadline:
                report = httpx.get(dev.url + "/_gateway/shadow", timeout=30).json()
                if report["counters"]["compared"] >= 2:
                    break
                time.sleep(0.1)

    assert read.status_code == 200 and echoed(read) == ("GET", "/tasks?status=next")
    assert write.status_code == 200 and echoed(write) == ("POST", "/tasks")
    copies = {r.method: r for r in proxied(mirror)}  # the two shadows may arrive in either order
    assert sorted((r.method, r.target) for r in copies.values()) == [("GET", "/tasks?status=next"), ("POST", "/tasks")]
    assert {r.headers["x-request-id"] for r in copies.values()} == {"wd-shadow-1-shadow"}
    assert json.loads(copies["POST"].body) == {"title": "shadowed"}
    assert all("x-backend-shadow" not in r.headers for r in proxied(upstream) + proxied(mirror))
    counters = report["counters"]
    assert (counters["compared"], counters["equal"], counters["status_only"], counters["failed"]) == (2, 2, 0, 0)
