"""gateway-registry: validation, the bulk file, and a real round trip through local KV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gateway_registry.cli import RegistryFileError, bulk_entries, load
from tests.behaviour.gateways import HarnessGateway
from tests.support.processes import ROOT
from tests.support.upstream import UpstreamServer

NODE_BIN = ROOT / "node_modules" / ".bin"


def write(tmp_path: Path, backends: object) -> Path:
    path = tmp_path / "backends.json"
    path.write_text(json.dumps({"backends": backends}))
    return path


def good(**overrides: object) -> dict:
    return {"id": "cf-d1", "name": "D1", "url": "https://d1.example.com", "type": "cloud", **overrides}


def problems_of(path: Path) -> list[str]:
    with pytest.raises(RegistryFileError) as caught:
        load(path)
    return caught.value.problems


def test_valid_file_loads_every_backend(tmp_path):
    path = write(tmp_path, [good(), good(id="other", region="eu-west", healthEndpoint="/ping")])
    assert [b["id"] for b in load(path)] == ["cf-d1", "other"]


def test_schema_error_names_the_entry_and_field(tmp_path):
    problems = problems_of(write(tmp_path, [good(), good(id="bad", healthEndpoint="ping")]))
    assert len(problems) == 1
    assert "backends[1] (id 'bad').healthEndpoint" in problems[0]


def test_invalid_id_is_reported(tmp_path):
    problems = problems_of(write(tmp_path, [good(id="Not_Valid")]))
    assert "backends[0]" in problems[0] and ".id" in problems[0]


def test_gateway_rules_apply_beyond_the_schema(tmp_path):
    # Valid JSON Schema, but the gateway refuses plain http for a public cloud host.
    problems = problems_of(write(tmp_path, [good(url="http://d1.example.com")]))
    assert "backends[0] (id 'cf-d1')" in problems[0]
    assert "https" in problems[0]


def test_duplicate_ids_are_reported(tmp_path):
    problems = problems_of(write(tmp_path, [good(), good()]))
    assert "duplicate id" in problems[0]


def test_access_secrets_must_come_in_pairs(tmp_path):
    problems = problems_of(write(tmp_path, [good(accessClientIdSecret="ID_ONLY")]))
    assert "accessClientSecretSecret" in problems[0]


def test_not_json_is_reported(tmp_path):
    path = tmp_path / "backends.json"
    path.write_text("{nope")
    assert "not valid JSON" in problems_of(path)[0]


def test_bulk_entries_are_what_wrangler_kv_bulk_put_takes(tmp_path):
    entries = bulk_entries([good()])
    assert [e["key"] for e in entries] == ["backend:cf-d1"]
    assert json.loads(entries[0]["value"]) == good()


def test_cli_exits_1_and_prints_problems_for_a_bad_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gateway_registry.cli", "validate", str(write(tmp_path, [good(url="ftp://x")]))],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "backends[0] (id 'cf-d1').url" in result.stderr


def registry(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}",
        "CI": "true",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway_registry.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def test_push_to_local_kv_then_the_worker_routes_with_it(tmp_path):
    persist = tmp_path / "wrangler-state"
    namespace_id = tomllib.loads((ROOT / "wrangler.toml").read_text())["kv_namespaces"][0]["id"]
    with UpstreamServer() as up:
        path = write(
            tmp_path,
            [
                {"id": "pushed", "name": "Pushed", "url": up.url, "type": "cloud", "healthEndpoint": "/health"},
                {"id": "gone", "url": "https://gone.example.com"},
            ],
        )
        pushed = registry("push", str(path), "--local", "--persist-to", str(persist))
        assert pushed.returncode == 0, pushed.stderr
        listed = registry("list", "--local", "--persist-to", str(persist))
        deleted = registry("delete", "gone", "--local", "--persist-to", str(persist))
        after = registry("list", "--local", "--persist-to", str(persist))

        worker = HarnessGateway(
            tmp_path / "harness",
            {"ENVIRONMENT": "cloud", "DEFAULT_BACKEND": "pushed"},
            kv=True,
            instances=1,
            kv_persist=persist,
            kv_namespace_id=namespace_id,
        )
        (tmp_path / "harness").mkdir()
        try:
            worker.start()
            routed = worker.get("/echo/from-kv")
            gone = worker.get("/echo/x", headers={"x-backend": "gone"})
        finally:
            worker.stop()

    assert listed.stdout.split() == ["gone", "pushed"]
    assert deleted.returncode == 0
    assert after.stdout.split() == ["pushed"]
    assert routed.status_code == 200
    assert routed.json()["path"] == "/echo/from-kv"
    assert up.hits("/echo/from-kv") == 1
    assert gone.status_code == 400 and gone.json()["error"]["code"] == "unknown_backend"


def test_push_with_prune_removes_backends_not_in_the_file(tmp_path):
    persist = tmp_path / "state"
    first = write(tmp_path, [good(id="keep"), good(id="drop")])
    assert registry("push", str(first), "--local", "--persist-to", str(persist)).returncode == 0
    second = write(tmp_path, [good(id="keep")])
    pruned = registry("push", str(second), "--local", "--persist-to", str(persist), "--prune")
    assert pruned.returncode == 0, pruned.stderr
    assert registry("list", "--local", "--persist-to", str(persist)).stdout.split() == ["keep"]
