"""harness.workerd.launch: Workers in one workerd through the one launcher, with JS Workers (no Pyodide start).

Python Workers through the same launcher are the behaviour suite's ``workerd`` runtime
(tests/behaviour/gateways.py) and the bench's workerd phase.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.process import ServiceError
from harness.services import workerd_overlay, write_dev_vars
from harness.workerd.launch import Launch, Worker

START_TIMEOUT_S = 90

#: Answers its NAME, the overlay's ENVIRONMENT and SECRET; /kv reads BACKEND_CONFIG_KV; /log logs.
ECHO = """
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/kv") {
      try {
        return new Response(String(await env.BACKEND_CONFIG_KV.get("seeded")));
      } catch (err) {
        return new Response(String(err), { status: 500 });
      }
    }
    if (path === "/log") {
      console.log("log-line-from-" + env.NAME);
      return new Response("logged");
    }
    return new Response([env.NAME, env.ENVIRONMENT ?? "-", env.SECRET ?? "-"].join(" "));
  },
};
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launch]:
    work = tmp_path_factory.mktemp("launch")
    script = work / "echo.mjs"
    script.write_text(ECHO)
    env_file = write_dev_vars(work / ".dev.vars", {"SECRET": "from-env-file"})
    workers = [
        Worker("plain", js=script, vars={"NAME": "plain", "SECRET": "from-vars"}, kv="plain", socket=True),
        Worker("faulty", js=script, vars={"NAME": "faulty"}, overlay_vars=True, env_file=env_file, kv="faulty"),
    ]
    launch = Launch(
        "launch-test",
        workerd_overlay(work / "wrangler.dev.json"),
        workers,
        log_path=work / "launch.log",
        kv_persist=work / "state",
        kv_seed={"seeded": "seed-value"},
    )
    with launch.start(timeout_s=START_TIMEOUT_S):
        yield launch


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as c:
        yield c


def test_a_worker_with_a_socket_is_reached_on_its_own_url(run: Launch, client: httpx.Client) -> None:
    assert set(run.urls) == {"plain"}
    assert client.get(run.urls["plain"]).text == "plain - from-vars"


def test_the_entry_routes_to_the_first_worker_or_the_one_a_request_names(run: Launch, client: httpx.Client) -> None:
    assert client.get(run.entry_url).text.startswith("plain ")
    assert client.get(run.entry_url, headers={"mf-route-override": "faulty"}).text.startswith("faulty ")


def test_overlay_vars_are_bound_and_the_env_file_goes_over_them(run: Launch, client: httpx.Client) -> None:
    answer = client.get(run.entry_url, headers={"mf-route-override": "faulty"}).text
    assert answer == "faulty cloud from-env-file"


def test_the_kv_seed_is_in_the_namespace_before_ready(run: Launch, client: httpx.Client) -> None:
    assert client.get(run.urls["plain"] + "/kv").text == "seed-value"


def test_the_faulty_kv_is_the_same_namespace_and_its_control_url_writes_it(run: Launch, client: httpx.Client) -> None:
    assert run.control_url is not None
    client.post(run.control_url + "/kv-put", json={"key": "seeded", "value": "written"}).raise_for_status()
    faulty = client.get(run.entry_url + "/kv", headers={"mf-route-override": "faulty"})
    assert faulty.text == "written"
    assert client.get(run.control_url + "/kv-get", params={"key": "seeded"}).text == "written"
    assert client.get(run.urls["plain"] + "/kv").text == "written"


def test_a_kv_outage_fails_every_call_through_the_faulty_binding_only(run: Launch, client: httpx.Client) -> None:
    assert run.control_url is not None
    client.post(run.control_url + "/kv-outage/on").raise_for_status()
    try:
        faulty = client.get(run.entry_url + "/kv", headers={"mf-route-override": "faulty"})
        plain = client.get(run.urls["plain"] + "/kv")
    finally:
        client.post(run.control_url + "/kv-outage/off").raise_for_status()
    assert faulty.status_code == 500
    assert "outage injected" in faulty.text
    assert plain.status_code == 200
    assert client.get(run.entry_url + "/kv", headers={"mf-route-override": "faulty"}).status_code == 200


def test_worker_log_lines_reach_the_launch_output(run: Launch, client: httpx.Client) -> None:
    assert client.get(run.urls["plain"] + "/log").text == "logged"
    run.service.wait_for_output("log-line-from-plain", timeout_s=30)


def test_a_worker_needs_exactly_one_kind_of_code() -> None:
    with pytest.raises(ValueError, match="either js, or src"):
        Worker("none")
    with pytest.raises(ValueError, match="either js, or src"):
        Worker("both", js=Path("a.mjs"), main=Path("b.py"))


def test_the_spec_names_the_python_code_and_only_the_options_given() -> None:
    spec = Worker("gw", src=Path("/s"), main=Path("/m.py"), rate_limit=7).spec()
    assert spec["python"] == {"src": "/s", "main": "/m.py"}
    assert spec["rateLimit"] == 7
    assert "kv" not in spec
    assert "rateLimit" not in Worker("gw", src=Path("/s")).spec()


def test_a_launch_that_fails_to_start_is_a_service_error_quoting_the_launcher(tmp_path: Path) -> None:
    missing = Worker("broken", js=tmp_path / "missing.mjs")
    launch = Launch("broken", workerd_overlay(tmp_path / "wrangler.dev.json"), [missing], log_path=tmp_path / "b.log")
    with pytest.raises(ServiceError, match=r"(?s)exited with status 1 before READY.*missing\.mjs"):
        launch.start(timeout_s=START_TIMEOUT_S)
    assert not launch.running()
