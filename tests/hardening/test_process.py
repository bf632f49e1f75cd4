"""The twin as a process: start-up failures, signals, and its SQLite KV command line."""

from __future__ import annotations

import json
import signal

import httpx
import pytest

from tests.support.processes import kv_cli, run_twin, running_twin
from tests.support.upstream import UpstreamServer


def env_for(upstream_url: str, **extra: str) -> dict[str, str]:
    return {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": upstream_url, **extra}


def test_bad_setting_stops_the_twin_at_start_naming_the_variable():
    result = run_twin({"ENVIRONMENT": "local", "BACKEND_APP_URL": "ftp://nope"})
    assert result.returncode == 2
    assert "BACKEND_APP_URL" in result.stderr


def test_cloud_mode_without_kv_stops_the_twin_at_start():
    result = run_twin({"ENVIRONMENT": "cloud"})
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


def test_cloud_mode_routes_with_documents_written_by_the_kv_command_line(tmp_path):
    kv_path = tmp_path / "kv.sqlite"
    with UpstreamServer() as up:
        doc = {"id": "app", "name": "App", "url": up.url, "type": "cloud", "healthEndpoint": "/health"}
        kv_cli(kv_path, "put", "backend:app", json.dumps(doc))
        with running_twin(
            {"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "app"}, tmp_path, "--kv-path", str(kv_path)
        ) as twin:
            routed = httpx.get(twin.url + "/echo/kv")
            local = httpx.get(twin.url + "/echo/kv", headers={"x-backend-location": "local"})
            listing = httpx.get(twin.url + "/_gateway/backends").json()

    assert routed.status_code == 200
    assert routed.json()["path"] == "/echo/kv"
    assert local.json()["error"]["code"] == "location_unavailable"
    assert [b["id"] for b in listing["backends"]] == ["app"]
    assert up.url not in json.dumps(listing)
