"""``python -m local_runner --workers N`` as processes: one gateway, several workers, one port.

Each test starts a supervised twin over real HTTP on 127.0.0.1 and drives
it from 16 concurrent clients. Which worker answered is read from the
twin's own metrics (``gateway_worker_requests{pid}``), and the worker pids
from ``/proc`` (the supervisor's children).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.hardening.support import wait_until
from tests.support.processes import Twin, run_twin, running_twin
from tests.support.upstream import FaultServer, slow

CLIENTS = 16
REQUESTS = 240

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def env_for(upstream_url: str, **extra: str) -> dict[str, str]:
    return {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": upstream_url, **extra}


def workers_of(twin: Twin) -> set[int]:
    """The supervisor's child processes: its workers."""
    pid = twin.service.pid
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return {int(p) for p in text.split()}


def wait_for_workers(twin: Twin, count: int, listening: int | None = None) -> set[int]:
    """Wait until the supervisor has ``count`` workers and ``listening`` (default ``count``) have said so."""

    def ready() -> bool:
        started = twin.output().count("gateway listening on")
        return len(workers_of(twin)) == count and started >= (count if listening is None else listening)

    assert wait_until(ready, timeout_s=30), (workers_of(twin), twin.output()[-2000:])
    return workers_of(twin)


def load(url: str, total: int = REQUESTS, clients: int = CLIENTS, path: str = "/echo/load") -> list[int]:
    """``total`` GETs from ``clients`` concurrent keep-alive clients; the statuses."""

    def one_client(count: int) -> list[int]:
        with httpx.Client(timeout=30) as http:
            return [http.get(url + path).status_code for _ in range(count)]

    share = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        return [status for statuses in pool.map(one_client, share) for status in statuses]


def scrape(url: str, local_address: str = "127.0.0.1") -> Samples:
    # A fresh connection each time, so scrapes too are spread by the kernel.
    with httpx.Client(transport=httpx.HTTPTransport(local_address=local_address), timeout=10) as http:
        response = http.get(url + "/_gateway/metrics")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def answers_per_worker(url: str, local_address: str = "127.0.0.1") -> dict[int, float]:
    return {
        int(dict(labels)["pid"]): value
        for (name, labels), value in scrape(url, local_address).items()
        if name == "gateway_worker_requests"
    }


def proxied_2xx(url: str) -> float:
    key = frozenset({("backend", "app"), ("location", "local"), ("status_class", "2xx")})
    return scrape(url).get(("gateway_requests_total", key), 0.0)


def test_requests_are_spread_over_both_workers(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path, "--workers", "2") as twin:
        pids = wait_for_workers(twin, 2)
        statuses = load(twin.url)
        per_worker = answers_per_worker(twin.url)

    assert statuses == [200] * REQUESTS
    assert set(per_worker) == pids
    assert all(count > 0 for count in per_worker.values()), per_worker


def test_log_lines_of_both_workers_never_interleave(tmp_path):
    log_file = tmp_path / "gateway.jsonl"
    with (
        FaultServer() as up,
        running_twin(env_for(up.url), tmp_path, "--workers", "2", "--log-file", str(log_file)) as twin,
    ):
        wait_for_workers(twin, 2)
        load(twin.url, total=2000, path="/echo/" + "p" * 200)  # long lines: many writes per flush
    # Read once stopped: the workers flush what they hold when they drain.

    lines = log_file.read_text().splitlines()
    proxied = [json.loads(line) for line in lines if '"outcome":"proxied"' in line]
    assert all(json.loads(line) for line in lines)  # every line whole
    assert len(proxied) == 2000


def test_metrics_sum_what_every_worker_answered(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path, "--workers", "2") as twin:
        wait_for_workers(twin, 2)
        load(twin.url)
        total = proxied_2xx(twin.url)
        per_worker = answers_per_worker(twin.url)

    assert total == REQUESTS
    assert len([count for count in per_worker.values() if count > 0]) == 2


def test_rate_limit_is_the_whole_twins_not_each_workers(tmp_path):
    limit = 40
    # A long period: refill during the test is a fraction of one request.
    env = env_for("http://127.0.0.1:9", RATE_LIMIT_REQUESTS=str(limit), RATE_LIMIT_PERIOD_S="3600")
    with running_twin(env, tmp_path, "--workers", "2") as twin:
        wait_for_workers(twin, 2)
        # /_gateway/backends needs no backend, and the limit applies to it as to any request.
        statuses = load(twin.url, path="/_gateway/backends")
        # Scraped from another loopback address: another client, with a bucket of its own.
        per_worker = answers_per_worker(twin.url, local_address="127.0.0.2")

    assert statuses.count(200) == limit  # not 2 × limit
    assert statuses.count(429) == REQUESTS - statuses.count(200)
    assert len([n for n in per_worker.values() if n > 0]) == 2, "both workers must answer for the test to mean anything"


def test_a_backend_sees_one_health_check_per_ttl_not_one_per_worker(tmp_path):
    ttl_s = 2
    env = env_for("", HEALTH_TTL_S=str(ttl_s))
    with FaultServer() as up, running_twin({**env, "BACKEND_APP_URL": up.url}, tmp_path, "--workers", "2") as twin:
        wait_for_workers(twin, 2)
        started = time.monotonic()
        # Steady traffic on both workers for a few TTLs (few clients: the backend answers checks promptly).
        while time.monotonic() - started < 6 * ttl_s:
            load(twin.url, total=200, clients=4)
        elapsed = time.monotonic() - started
        checks = up.hits("/health")
        per_worker = answers_per_worker(twin.url)

    assert len([n for n in per_worker.values() if n > 0]) == 2
    # The first request on each worker waits for a check of its own (nothing is shared yet); after
    # that one check per TTL by the worker whose result is in KV (the other trusts it a grace longer). Two workers each
    # re-checking would make about twice as many.
    assert checks <= elapsed / ttl_s + 3, (checks, elapsed)


def test_backends_listing_is_the_same_from_every_worker(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path, "--workers", "2") as twin:
        wait_for_workers(twin, 2)
        load(twin.url)
        before = answers_per_worker(twin.url)
        listings = {httpx.get(twin.url + "/_gateway/backends", headers={"connection": "close"}).text for _ in range(30)}
        after = answers_per_worker(twin.url)

    assert all(after[pid] > before.get(pid, 0) + 1 for pid in after), (before, after)  # both answered listings
    assert len(listings) == 1, listings
    assert '"status":"healthy"' in listings.pop()


def test_a_killed_worker_is_restarted_and_the_port_keeps_answering(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path, "--workers", "2") as twin:
        first = wait_for_workers(twin, 2)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        # Load once the supervisor has reaped it (its socket is closed), while the replacement is due:
        # the survivor answers alone. Before that, a connection could still queue at the dying worker.
        reaped = f"(pid {victim}) exited with signal 9; restarting"
        assert wait_until(lambda: reaped in twin.output(), timeout_s=30), twin.output()[-2000:]
        statuses = load(twin.url, total=64)
        second = wait_for_workers(twin, 2, listening=3)
        after_restart = load(twin.url)
        output = twin.output()

    assert statuses == [200] * 64
    assert victim not in second and len(second & first) == 1
    assert after_restart == [200] * REQUESTS
    assert f"(pid {victim}) exited with signal 9" in output


def test_sigterm_drains_an_in_flight_request_then_everything_exits_0(tmp_path):
    with FaultServer({"/slow": slow(2.0)}) as up, running_twin(env_for(up.url), tmp_path, "--workers", "2") as twin:
        pids = wait_for_workers(twin, 2)
        answer: list[httpx.Response] = []
        client = threading.Thread(target=lambda: answer.append(httpx.get(twin.url + "/slow", timeout=30)))
        client.start()
        assert wait_until(lambda: up.hits("/slow") == 1, timeout_s=10)
        # The supervisor alone is signalled: it must pass the stop on to its workers.
        os.kill(twin.service.pid, signal.SIGTERM)
        client.join(30)
        assert twin.proc is not None
        code = twin.proc.wait(30)
        output = twin.output()

    assert answer and answer[0].status_code == 200
    assert code == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in pids)
    assert output.count("gateway stopped") == 3  # two workers, then the supervisor


def test_workers_auto_starts_one_worker_per_usable_cpu(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path, "--workers", "auto") as twin:
        pids = wait_for_workers(twin, len(os.sched_getaffinity(0)))

    assert len(pids) == len(os.sched_getaffinity(0))


def test_workers_come_from_gateway_workers_when_no_flag_is_given(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url, GATEWAY_WORKERS="2"), tmp_path) as twin:
        pids = wait_for_workers(twin, 2)

    assert len(pids) == 2


def test_one_worker_is_the_single_process_twin_without_a_supervisor(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path, "--workers", "1") as twin:
        status = httpx.get(twin.url + "/echo/one").status_code
        children = workers_of(twin)
        metrics = scrape(twin.url)

    assert status == 200
    assert children == set()
    assert not any(name == "gateway_worker_requests" for name, _ in metrics)


def test_a_bad_workers_flag_is_a_usage_error():
    result = run_twin(env_for("http://127.0.0.1:9"), "--workers", "0")
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "--workers" in result.stderr and "'0'" in result.stderr


def test_a_bad_gateway_workers_variable_is_a_usage_error_naming_it():
    result = run_twin(env_for("http://127.0.0.1:9", GATEWAY_WORKERS="many"))
    assert result.returncode == 2
    assert "GATEWAY_WORKERS" in result.stderr and "'many'" in result.stderr


def test_a_port_in_use_stops_the_supervised_twin_with_status_2(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_twin(env_for("http://127.0.0.1:9"), "--port", str(port), "--workers", "2")

    assert result.returncode == 2
    assert "cannot listen" in result.stderr
