"""Faults: misbehaving upstreams and KV, against the twin as a real process.

Each test ends in the documented status within a generous bound, leaves no
request hanging (every client call has a timeout), and shows that the twin
recovers without a restart.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter

import httpx

from tests.hardening.support import open_fds, wait_until
from tests.support.processes import Twin, kv_cli, running_twin
from tests.support.upstream import (
    FaultServer,
    garbage,
    hang,
    ok,
    reset_mid_body,
    slow,
    slow_source,
    stall_body,
    status,
)

BOUND_S = 10.0  # "finished within a generous bound" for every single call


def env_for(url: str, **extra: str) -> dict[str, str]:
    return {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": url, **extra}


def code(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def assert_json_error(response: httpx.Response, status_code: int, error_code: str, upstream_url: str) -> None:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"] == "application/json"
    assert code(response) == error_code
    assert upstream_url not in response.text
    assert "127.0.0.1" not in response.text


def test_backend_down_at_start_answers_503_and_recovers_when_it_comes_up(tmp_path):
    server = FaultServer()
    with server as up:
        server.stop()
        with running_twin(env_for(up.url, HEALTH_RETRY_S="1"), tmp_path) as twin:
            down = httpx.get(twin.url + "/tasks", timeout=BOUND_S)
            assert_json_error(down, 503, "backend_unhealthy", up.url)
            server.start_again()
            recovered = wait_until(
                lambda: httpx.get(twin.url + "/tasks", timeout=BOUND_S).status_code == 200, timeout_s=8
            )

    assert recovered


def test_backend_killed_during_load_answers_503_then_recovers(tmp_path):
    server = FaultServer()
    statuses: Counter[str] = Counter()
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(timeout=BOUND_S) as http:
            while not stop.is_set():
                try:
                    response = http.get(twin.url + "/load")
                    statuses[f"{response.status_code} {code(response) or ''}".strip()] += 1
                except httpx.HTTPError as exc:
                    statuses[type(exc).__name__] += 1

    with server as up, running_twin(env_for(up.url, HEALTH_RETRY_S="1"), tmp_path) as twin:
        workers = [threading.Thread(target=client) for _ in range(8)]
        for worker in workers:
            worker.start()
        loaded = wait_until(lambda: statuses["200"] > 0, timeout_s=BOUND_S)
        server.stop()
        refused = wait_until(
            lambda: statuses["503 backend_unavailable"] + statuses["503 backend_unhealthy"] > 0, timeout_s=BOUND_S
        )
        served_while_down = sum(statuses.values())
        server.start_again()
        recovered = wait_until(lambda: httpx.get(twin.url + "/load", timeout=BOUND_S).status_code == 200, timeout_s=8)
        answered_before = statuses["200"]
        again = wait_until(lambda: statuses["200"] > answered_before, timeout_s=BOUND_S)  # the load's own clients too
        stop.set()
        for worker in workers:
            worker.join(BOUND_S + 5)
        hung = [w for w in workers if w.is_alive()]

    assert not hung
    assert loaded and refused and recovered and again
    assert served_while_down > 0
    assert set(statuses) <= {"200", "503 backend_unavailable", "503 backend_unhealthy"}, statuses
    assert statuses["200"] > 0 and statuses["503 backend_unavailable"] + statuses["503 backend_unhealthy"] > 0


def test_backend_that_accepts_and_never_answers_gets_504_and_its_connection_is_dropped(tmp_path):
    with FaultServer({"/hang": hang}) as up, running_twin(env_for(up.url, UPSTREAM_TIMEOUT_MS="500"), tmp_path) as twin:
        assert httpx.get(twin.url + "/warm", timeout=BOUND_S).status_code == 200
        started = time.monotonic()
        responses = [httpx.get(twin.url + "/hang", timeout=BOUND_S) for _ in range(3)]
        elapsed = time.monotonic() - started
        released = wait_until(lambda: up.open_connections <= 1, timeout_s=5)  # the pooled /warm one at most
        after = httpx.get(twin.url + "/after", timeout=BOUND_S)

    for response in responses:
        assert_json_error(response, 504, "upstream_timeout", up.url)
    assert elapsed < 3 * BOUND_S
    assert released, f"{up.open_connections} upstream connections still open"
    assert after.status_code == 200  # a timeout does not mark the backend unhealthy


def _read_until_cut(url: str, timeout_s: float) -> tuple[int, int, str]:
    """GET ``url``; return (status, body bytes received, how the body ended)."""
    received = 0
    with httpx.stream("GET", url, timeout=timeout_s) as response:
        try:
            for chunk in response.iter_raw():
                received += len(chunk)
            ended = "complete"
        except httpx.HTTPError as exc:
            ended = type(exc).__name__
    return response.status_code, received, ended


def test_headers_then_stalled_body_cuts_the_client_after_the_upstream_timeout(tmp_path):
    # UPSTREAM_TIMEOUT_MS bounds each wait for the next piece of an upstream body too.
    with (
        FaultServer({"/stall": stall_body}) as up,
        running_twin(env_for(up.url, UPSTREAM_TIMEOUT_MS="800"), tmp_path) as twin,
    ):
        started = time.monotonic()
        status_code, received, ended = _read_until_cut(twin.url + "/stall", timeout_s=30)
        elapsed = time.monotonic() - started
        released = wait_until(lambda: up.open_connections == 0, timeout_s=5)
        after = httpx.get(twin.url + "/after", timeout=BOUND_S)

    assert (status_code, received) == (200, 10)
    assert ended == "RemoteProtocolError"  # the connection was cut, not ended as if complete
    assert elapsed < BOUND_S, f"stalled body held the client for {elapsed:.1f}s"
    assert released
    assert after.status_code == 200


def test_reset_mid_body_cuts_the_client_and_the_gateway_recovers(tmp_path):
    with FaultServer({"/reset": reset_mid_body}) as up, running_twin(env_for(up.url), tmp_path) as twin:
        status_code, received, ended = _read_until_cut(twin.url + "/reset", timeout_s=BOUND_S)
        after = httpx.get(twin.url + "/after", timeout=BOUND_S)

    assert status_code == 200
    assert 0 < received < 1_000_000
    assert ended == "RemoteProtocolError"
    assert after.status_code == 200


def test_upstream_answering_garbage_gets_502_bad_gateway(tmp_path):
    with FaultServer({"/garbage": garbage}) as up, running_twin(env_for(up.url), tmp_path) as twin:
        responses = [httpx.get(twin.url + "/garbage", timeout=BOUND_S) for _ in range(3)]
        after = httpx.get(twin.url + "/after", timeout=BOUND_S)

    for response in responses:
        assert_json_error(response, 502, "bad_gateway", up.url)
    assert after.status_code == 200


def test_health_flapping_faster_than_its_ttl_costs_at_most_one_check_per_ttl(tmp_path):
    flip = {"healthy": True}

    async def flapping(ex):
        flip["healthy"] = not flip["healthy"]
        return await (ok if flip["healthy"] else status(503))(ex)

    statuses: Counter[str] = Counter()
    with (
        FaultServer({"/health": flapping}) as up,
        running_twin(env_for(up.url, HEALTH_TTL_S="1", HEALTH_RETRY_S="1"), tmp_path) as twin,
    ):
        with httpx.Client(timeout=BOUND_S) as http:
            deadline = time.monotonic() + 3.5
            while time.monotonic() < deadline:
                response = http.get(twin.url + "/flap")
                statuses[f"{response.status_code} {code(response) or ''}".strip()] += 1
        checks = up.hits("/health")

    assert set(statuses) <= {"200", "503 backend_unhealthy"}, statuses
    assert statuses["200"] > 0 and statuses["503 backend_unhealthy"] > 0
    # ~3.5 s with a 1 s TTL: a handful of checks, never one per request.
    assert checks <= 8, f"{checks} health checks for {sum(statuses.values())} requests"


def test_slow_health_endpoint_is_cut_at_health_timeout_and_recovers(tmp_path):
    server = FaultServer({"/health": slow(30)})
    with server as up, running_twin(env_for(up.url, HEALTH_TIMEOUT_MS="300", HEALTH_RETRY_S="1"), tmp_path) as twin:
        # The check sleeps 30 s; BOUND_S (10 s) is "never": a twin that waits for it raises
        # ReadTimeout here, so an answer at all means the check was cut.
        first = httpx.get(twin.url + "/tasks", timeout=BOUND_S)
        server.routes["/health"] = ok
        recovered = wait_until(lambda: httpx.get(twin.url + "/tasks", timeout=BOUND_S).status_code == 200, timeout_s=8)

    assert_json_error(first, 503, "backend_unhealthy", up.url)
    assert recovered


# --------------------------------------------------------------------------
# KV faults (cloud mode)


def _kv_put(kv_path, key: str, value: str) -> None:
    kv_cli(kv_path, "put", key, value)


def twin_log(twin: Twin) -> list[dict[str, object]]:
    """The twin's JSON log lines so far."""
    return [json.loads(line) for line in twin.log_lines()]


def test_kv_failure_serves_last_known_good_then_503_registry_unavailable_then_recovers(tmp_path):
    kv_path = tmp_path / "kv.sqlite"
    fault = tmp_path / "kv-fault"
    with FaultServer() as up:
        _kv_put(kv_path, "backend:app", json.dumps({"id": "app", "name": "App", "url": up.url, "type": "cloud"}))
        env = {"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "app", "REGISTRY_TTL_S": "1", "REGISTRY_STALE_S": "2"}
        with running_twin(env, tmp_path, "--kv-path", str(kv_path), "--kv-fault-file", str(fault)) as twin:
            assert httpx.get(twin.url + "/first", timeout=BOUND_S).status_code == 200
            loaded_at = time.monotonic()
            fault.touch()  # from now on every KV call of the twin raises
            time.sleep(1.2)  # past REGISTRY_TTL_S, inside REGISTRY_STALE_S
            stale = httpx.get(twin.url + "/stale", timeout=BOUND_S)
            unavailable = None
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                response = httpx.get(twin.url + "/later", timeout=BOUND_S)
                if response.status_code != 200:
                    unavailable = response
                    break
                time.sleep(0.2)
            waited = time.monotonic() - loaded_at
            fault.unlink()
            recovered = wait_until(
                lambda: httpx.get(twin.url + "/again", timeout=BOUND_S).status_code == 200, timeout_s=8
            )
            logged = wait_until(lambda: '"event":"registry_kv_error"' in twin.output(), timeout_s=BOUND_S)

    assert stale.status_code == 200
    assert unavailable is not None
    assert_json_error(unavailable, 503, "registry_unavailable", up.url)
    assert waited >= 3.0  # not before REGISTRY_TTL_S + REGISTRY_STALE_S
    assert recovered
    assert logged, "no registry_kv_error logged"


def test_kv_write_lock_held_by_another_process_does_not_freeze_the_twin(tmp_path):
    import sqlite3

    kv_path = tmp_path / "kv.sqlite"
    with FaultServer() as up:
        _kv_put(kv_path, "backend:app", json.dumps({"id": "app", "name": "App", "url": up.url, "type": "cloud"}))
        env = {"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "app", "HEALTH_TTL_S": "1", "HEALTH_RETRY_S": "1"}
        with running_twin(env, tmp_path, "--kv-path", str(kv_path)) as twin:
            assert httpx.get(twin.url + "/first", timeout=BOUND_S).status_code == 200
            other = sqlite3.connect(kv_path, isolation_level=None, timeout=0)
            other.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
            try:
                statuses: list[int] = []

                slowest = 0.0

                def a_write_met_the_lock() -> bool:
                    nonlocal slowest
                    started = time.monotonic()
                    statuses.append(httpx.get(twin.url + "/_gateway/health", timeout=BOUND_S).status_code)
                    statuses.append(httpx.get(twin.url + "/during", timeout=BOUND_S).status_code)
                    slowest = max(slowest, time.monotonic() - started)
                    return any(line.get("event") == "health_kv_error" for line in twin_log(twin))

                # Health results are written to KV every second here (HEALTH_TTL_S=1).
                met = wait_until(a_write_met_the_lock, timeout_s=30)
                statuses.append(httpx.get(twin.url + "/after", timeout=BOUND_S).status_code)
            finally:
                other.execute("ROLLBACK")
                other.close()

    # The write refused by the lock is logged and dropped (sqlite's default is to wait 5 s on the
    # event loop); every request around it was answered, within BOUND_S each.
    assert met, "no health write met the lock"
    errors = [line for line in twin_log(twin) if line.get("event") == "health_kv_error"]
    assert {line["error"] for line in errors} == {"OperationalError"}, errors
    assert statuses == [200] * len(statuses)
    # A figure, not a check (a loaded machine stretches it): a write waiting on the loop would show as ~5 s.
    print(f"\nslowest health+request pair while another process held the KV lock: {slowest:.3f} s")


# --------------------------------------------------------------------------
# Clients that go away


def test_client_disconnecting_mid_upload_cancels_the_upstream_request(tmp_path):
    with FaultServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        port = int(twin.url.rsplit(":", 1)[1])
        assert httpx.get(twin.url + "/warm", timeout=BOUND_S).status_code == 200
        fds_before = open_fds(twin.proc.pid)
        open_before = up.open_connections
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"POST /slow-sink HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n")
                sock.sendall(b"z" * 1_000_000)
                assert wait_until(lambda: up.hits("/slow-sink") > 0, timeout_s=5)
            # the socket is closed here, mid-upload
        released = wait_until(lambda: up.open_connections <= open_before, timeout_s=BOUND_S)
        fds_back = wait_until(lambda: open_fds(twin.proc.pid) <= fds_before, timeout_s=BOUND_S)
        after = httpx.get(twin.url + "/after", timeout=BOUND_S)

    assert released, f"{up.open_connections - open_before} upstream connections left open"
    assert fds_back
    assert after.status_code == 200  # a client going away does not mark the backend unhealthy


def test_client_disconnecting_mid_download_releases_the_upstream(tmp_path):
    with FaultServer({"/slow-source": slow_source}) as up, running_twin(env_for(up.url), tmp_path) as twin:
        assert httpx.get(twin.url + "/warm", timeout=BOUND_S).status_code == 200
        fds_before = open_fds(twin.proc.pid)
        open_before = up.open_connections
        for _ in range(5):
            with httpx.stream("GET", twin.url + "/slow-source", timeout=BOUND_S) as response:
                assert response.status_code == 200
                received = 0
                for chunk in response.iter_raw():
                    received += len(chunk)
                    if received > 256 * 1024:
                        break  # leaving the block closes the connection mid-download
        released = wait_until(lambda: up.open_connections <= open_before, timeout_s=BOUND_S)
        fds_back = wait_until(lambda: open_fds(twin.proc.pid) <= fds_before, timeout_s=BOUND_S)
        after = httpx.get(twin.url + "/after", timeout=BOUND_S)

    assert released, f"{up.open_connections - open_before} upstream connections left open"
    assert fds_back
    assert after.status_code == 200
