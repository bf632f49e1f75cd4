"""The recipe for the Worker under wrangler dev (harness.services): overlay, .dev.vars, command line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from harness import services


def test_dev_vars_file_holds_the_settings_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    path = services.write_dev_vars(tmp_path / ".dev.vars", {"ENVIRONMENT": "cloud", "API_KEY": "k-1/2+3=="})
    assert path.read_text() == 'ENVIRONMENT="cloud"\nAPI_KEY="k-1/2+3=="\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(("name", "value"), [("BAD NAME", "x"), ("A", 'quo"te'), ("A", "new\nline"), ("A", "back\\")])
def test_dev_vars_refuses_what_dotenv_would_read_differently(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ValueError, match="cannot be written"):
        services.write_dev_vars(tmp_path / ".dev.vars", {name: value})


def test_overlay_rate_limit_is_kept_changed_or_removed(tmp_path: Path) -> None:
    def overlay(**kw: int) -> dict:
        return json.loads(services.workerd_overlay(tmp_path / "wrangler.dev.json", **kw).read_text())

    kept = overlay()
    assert kept["ratelimits"][0]["name"] == "RATE_LIMITER"
    assert "python_workers_development" in kept["compatibility_flags"]
    assert overlay(rate_limit=5)["ratelimits"][0]["simple"]["limit"] == 5
    assert "ratelimits" not in overlay(rate_limit=0)


def test_worker_takes_settings_from_a_file_never_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "cfg" / "wrangler.dev.json"
    service = services.worker(8799, {"API_KEY": "never-on-argv"}, tmp_path, kv_persist=tmp_path / "kv", config=config)
    argv = list(service.argv)
    assert "never-on-argv" not in " ".join(argv)
    assert argv[argv.index("--env-file") + 1] == str(tmp_path / "gateway.dev.vars")
    assert argv[argv.index("--config") + 1] == str(config)
    assert service.env["MINIFLARE_WORKERD_PATH"].endswith("harness/workerd/workerd-offline")
    assert "API_KEY" not in service.env
    assert service.health_url == "http://127.0.0.1:8799/_gateway/health"
