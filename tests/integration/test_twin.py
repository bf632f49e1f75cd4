"""The twin as a process, against real upstream servers on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import httpx
import pytest

from tests.support.processes import ROOT, free_port, running_twin, twin_command, twin_env
from tests.support.upstream import UpstreamServer, pattern_chunks, pattern_digest

BIG = 50 * 1024 * 1024


def env_for(upstream_url: str, **extra: str) -> dict[str, str]:
    return {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": upstream_url, **extra}


def test_upload_of_50_mb_streams_through_without_buffering(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        httpx.get(twin.url + "/echo/warm")  # pool, health cache and code paths warm
        baseline = twin.rss_peak_kib()
        response = httpx.post(
            twin.url + "/sink", content=pattern_chunks(BIG), headers={"content-length": str(BIG)}, timeout=120
        )
        growth_mib = (twin.rss_peak_kib() - baseline) / 1024

    assert response.status_code == 200
    assert (response.json()["body_length"], response.json()["body_sha256"]) == (BIG, pattern_digest(BIG))
    assert growth_mib < 16, f"twin peak RSS grew {growth_mib:.1f} MiB for a 50 MiB upload"


def test_chunked_upload_of_50_mb_streams_through(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        httpx.get(twin.url + "/echo/warm")
        baseline = twin.rss_peak_kib()
        # A generator body without a length makes httpx send it chunked.
        response = httpx.post(twin.url + "/sink", content=pattern_chunks(BIG), timeout=120)
        growth_mib = (twin.rss_peak_kib() - baseline) / 1024

    assert (response.json()["body_length"], response.json()["body_sha256"]) == (BIG, pattern_digest(BIG))
    assert growth_mib < 16


def test_download_of_50_mb_streams_through_without_buffering(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        httpx.get(twin.url + "/echo/warm")
        baseline = twin.rss_peak_kib()
        import hashlib

        digest = hashlib.sha256()
        received = 0
        with httpx.stream("GET", twin.url + f"/big?bytes={BIG}", timeout=120) as response:
            assert response.headers["content-length"] == str(BIG)
            for chunk in response.iter_raw():
                digest.update(chunk)
                received += len(chunk)
        growth_mib = (twin.rss_peak_kib() - baseline) / 1024

    assert received == BIG
    assert digest.hexdigest() == pattern_digest(BIG)
    assert growth_mib < 16, f"twin peak RSS grew {growth_mib:.1f} MiB for a 50 MiB download"


def test_hung_upstream_gets_504_at_the_configured_timeout(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url, UPSTREAM_TIMEOUT_MS="700"), tmp_path) as twin:
        started = time.monotonic()
        response = httpx.get(twin.url + "/hang", timeout=30)
        elapsed = time.monotonic() - started

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert elapsed >= 0.7  # not before the deadline
    assert elapsed < 10  # and not left hanging


def test_refused_port_answers_503(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    with running_twin(env_for(closed), tmp_path) as twin:
        response = httpx.get(twin.url + "/tasks")

    assert response.status_code == 503
    assert response.json()["error"]["code"] in ("backend_unhealthy", "backend_unavailable")
    assert "127.0.0.1" not in response.text


def test_backend_that_dies_is_marked_unhealthy_by_the_failed_proxy_call(tmp_path):
    server = UpstreamServer()
    with server as up, running_twin(env_for(up.url, HEALTH_TTL_S="300"), tmp_path) as twin:
        assert httpx.get(twin.url + "/echo/1").status_code == 200
        server.stop()
        first = httpx.get(twin.url + "/echo/2")
        second = httpx.get(twin.url + "/echo/3")

    assert first.status_code == 503
    assert first.json()["error"]["code"] == "backend_unavailable"
    # The health TTL is 300 s: only the passive mark can explain this answer.
    assert second.json()["error"]["code"] == "backend_unhealthy"


def test_steady_state_costs_one_upstream_hit_per_client_request(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        with httpx.Client() as client:
            for i in range(200):
                assert client.get(twin.url + f"/echo/{i}").status_code == 200
        echo_hits, health_hits = up.hits_under("/echo/"), up.hits("/health")

    assert echo_hits == 200
    assert health_hits == 1


def test_request_reaches_upstream_with_forwarding_headers_and_without_hop_by_hop(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        response = httpx.post(
            twin.url + "/echo/a%2Fb?x=1&y=%20",
            content=b"payload",
            headers={"connection": "x-secret-hop", "x-secret-hop": "1", "x-request-id": "req-123", "x-forwarded-for": "10.0.0.9"},
        )

    seen = response.json()
    headers = up.last("/echo/a/b").headers
    assert (seen["method"], seen["target"], seen["body_length"]) == ("POST", "/echo/a%2Fb?x=1&y=%20", 7)
    assert "x-secret-hop" not in headers
    assert headers["x-forwarded-for"] == "10.0.0.9, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == twin.url.removeprefix("http://")
    assert headers["x-request-id"] == "req-123"
    assert headers["x-gateway-version"]
    assert response.headers["x-request-id"] == "req-123"
    assert "x-upstream-hop" not in response.headers
    assert "keep-alive" not in response.headers


def test_every_request_writes_one_json_log_line(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url, API_KEY="s3cret-key"), tmp_path) as twin:
        httpx.get(twin.url + "/echo/x?token=abc", headers={"authorization": "Bearer s3cret-key"})
        httpx.get(twin.url + "/echo/y", headers={"x-backend": "nope", "x-api-key": "s3cret-key"})
        time.sleep(0.8)  # the twin flushes its log every 0.5 s
        lines = [json.loads(line) for line in twin.log_lines()]

    requests = [line for line in lines if "request_id" in line and line["path"] != "/_gateway/health"]
    assert [(r["path"], r["status"], r["outcome"]) for r in requests] == [
        ("/echo/x", 200, "proxied"),
        ("/echo/y", 400, "error:unknown_backend"),
    ]
    assert set(requests[0]) == {
        "ts", "request_id", "method", "path", "backend", "location", "status", "duration_ms", "upstream_ms", "outcome"
    }
    assert "s3cret-key" not in twin.output()
    assert "token=abc" not in twin.output()


def test_bad_setting_stops_the_twin_at_start_naming_the_variable(tmp_path):
    result = subprocess.run(
        twin_command(free_port(), "--env-file", "/dev/null"),
        cwd=ROOT,
        env=twin_env({"ENVIRONMENT": "local", "BACKEND_APP_URL": "ftp://nope"}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "BACKEND_APP_URL" in result.stderr


def test_cloud_mode_without_kv_stops_the_twin_at_start(tmp_path):
    result = subprocess.run(
        twin_command(free_port(), "--env-file", "/dev/null"),
        cwd=ROOT,
        env=twin_env({"ENVIRONMENT": "cloud"}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "BACKEND_CONFIG_KV" in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_twin_shuts_down_cleanly_on_signal(tmp_path, sig):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        assert httpx.get(twin.url + "/echo/1").status_code == 200
        code = twin.stop(sig)
        output = twin.output()

    assert code == 0
    assert "gateway stopped" in output


def test_cloud_mode_routes_with_documents_from_the_sqlite_kv(tmp_path):
    kv_path = tmp_path / "kv.sqlite"
    with UpstreamServer() as up:
        doc = {"id": "app", "name": "App", "url": up.url, "type": "cloud", "healthEndpoint": "/health"}
        subprocess.run(
            [*twin_command(0)[:3], "kv", "--kv-path", str(kv_path), "put", "backend:app", json.dumps(doc)],
            cwd=ROOT, env=twin_env({}), check=True, timeout=30,
        )
        with running_twin({"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "app"}, tmp_path, "--kv-path", str(kv_path)) as twin:
            routed = httpx.get(twin.url + "/echo/kv")
            local = httpx.get(twin.url + "/echo/kv", headers={"x-backend-location": "local"})
            listing = httpx.get(twin.url + "/_gateway/backends").json()

    assert routed.status_code == 200
    assert routed.json()["path"] == "/echo/kv"
    assert local.json()["error"]["code"] == "location_unavailable"
    assert [b["id"] for b in listing["backends"]] == ["app"]
    assert up.url not in json.dumps(listing)
