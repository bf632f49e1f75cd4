"""One behaviour suite, three runtimes.

Every test takes a gateway built by a module fixture from the ``runtime``
parameter (``cpython`` = the twin, ``pyodide`` = the Worker in the Node
harness, ``workerd`` = the Worker on real workerd) and asserts the same
things on each; where a runtime legitimately differs, the case says so with
an expectation per runtime (``runtime`` is a fixture a case can take). Cases one runtime cannot run are listed
in :data:`LIMITATIONS` with the reason (rendered in docs/pyodide.md); they
are reported as skipped with that reason, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.upstream import Upstream, UpstreamServer

from .gateways import RUNTIMES, Gateway, start_gateway

#: test name → runtime → why that runtime cannot run the case.
LIMITATIONS: dict[str, dict[str, str]] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        runtime = callspec.params.get("runtime") if callspec else None
        reason = LIMITATIONS.get(item.originalname, {}).get(runtime)  # type: ignore[attr-defined]
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"LIMITATION ({runtime}): {reason}"))


@pytest.fixture(scope="module", params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def upstreams(request: pytest.FixtureRequest, runtime: str) -> Iterator[dict[str, Upstream]]:
    """Fresh recording upstreams per runtime, one per name in the module's ``UPSTREAMS``."""
    servers = {name: UpstreamServer() for name in request.module.UPSTREAMS}
    states = {}
    try:
        for name, server in servers.items():
            states[name] = server.__enter__()
        yield states
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, runtime: str) -> Path:
    return tmp_path_factory.mktemp(f"gw-{runtime}")


@pytest.fixture(scope="module")
def launch(workdir: Path, runtime: str) -> Iterator:
    """``launch(env, kv=..., instances=...)`` starts a gateway that stops with the module."""
    started: list[Gateway] = []

    def start(env: dict[str, str], **kw) -> Gateway:
        gateway = start_gateway(runtime, workdir / str(len(started)), env, **kw)
        started.append(gateway)
        return gateway

    try:
        yield start
    finally:
        for gateway in started:
            gateway.stop()


def local_settings(upstreams: dict[str, Upstream], default: str, **extra: str) -> dict[str, str]:
    """A local-mode gateway's settings: every upstream as ``BACKEND_<NAME>_URL``, ``default`` first, then ``extra``."""
    settings = {"ENVIRONMENT": "local", "DEFAULT_BACKEND": default}
    settings.update({f"BACKEND_{name.upper()}_URL": upstream.url for name, upstream in upstreams.items()})
    return settings | extra


def assert_error(response: httpx.Response, status: int, code: str, *, secrets: tuple[str, ...] = ()) -> dict:
    """The gateway's one error shape, with the request id echoed, and nothing private in it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == response.headers["x-request-id"]
    text = response.text
    assert "127.0.0.1:" not in text and "http://" not in text and "https://" not in text, text
    assert "Traceback" not in text
    for secret in secrets:
        assert secret not in text
    return error


def echo(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return json.loads(response.text)
