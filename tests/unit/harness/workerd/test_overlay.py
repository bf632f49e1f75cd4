"""The dev flags for offline workerd live only in the generated overlay, never in wrangler.toml."""

from __future__ import annotations

import ast
import json
import tomllib
from pathlib import Path

import pytest

from harness.workerd import overlay as overlay_config

ROOT = Path(__file__).resolve().parents[4]
WRANGLER_TOML = ROOT / "wrangler.toml"
#: Production's compat date selects production's Pyodide (0.28.2, Python 3.13); moving it is a
#: decision to take on purpose, with harness/workerd/README.md updated.
PRODUCTION_COMPAT_DATE = "2026-11-01"


@pytest.fixture
def base() -> dict:
    return tomllib.loads(WRANGLER_TOML.read_text(encoding="utf-8"))


@pytest.fixture
def overlay_path(tmp_path: Path) -> Path:
    return overlay_config.write_overlay(tmp_path / "cfg" / "wrangler.dev.json")


@pytest.fixture
def overlay(overlay_path: Path) -> dict:
    return json.loads(overlay_path.read_text(encoding="utf-8"))


def test_wrangler_toml_names_no_dev_flag_anywhere() -> None:
    text = WRANGLER_TOML.read_text(encoding="utf-8")
    present = [flag for flag in overlay_config.DEV_FLAGS if flag in text]
    assert not present, f"wrangler.toml is deployed: dev-only flags {present} belong in harness.workerd.overlay"


def test_wrangler_toml_keeps_python_workers_and_the_production_compat_date(base: dict) -> None:
    assert "python_workers" in base["compatibility_flags"]
    assert base["compatibility_date"] == PRODUCTION_COMPAT_DATE


def test_wrangler_toml_keeps_global_handlers_for_the_on_fetch_entry(base: dict) -> None:
    # From 2025-08-14 on, workerd registers a top-level on_fetch only with this flag
    # (compatibility-date.capnp, pythonNoGlobalHandlers); src/entry.py is one.
    assert "disable_python_no_global_handlers" in base["compatibility_flags"]


def test_entry_module_defines_a_top_level_on_fetch_and_no_default_class() -> None:
    tree = ast.parse((ROOT / "src" / "entry.py").read_text(encoding="utf-8"))
    top_level = {node.name: type(node).__name__ for node in tree.body if hasattr(node, "name")}
    # With global handlers on, workerd would call a Default class's `on_fetch` method, not `fetch`.
    assert (top_level.get("on_fetch"), top_level.get("Default")) == ("FunctionDef", None)


def test_dev_flags_are_the_ones_workerd_needs_for_the_dev_bundle() -> None:
    assert set(overlay_config.DEV_FLAGS) >= {
        "python_workers_development",
        "no_python_workers_20250116",
        "disable_python_external_sdk",
    }


def test_overlay_adds_every_dev_flag_after_the_production_flags(base: dict, overlay: dict) -> None:
    flags = overlay["compatibility_flags"]
    assert flags[: len(base["compatibility_flags"])] == base["compatibility_flags"]
    assert flags[len(base["compatibility_flags"]) :] == list(overlay_config.DEV_FLAGS)


def test_overlay_main_names_the_real_entry_point(overlay_path: Path, overlay: dict) -> None:
    assert (overlay_path.parent / overlay["main"]).resolve() == (ROOT / "src" / "entry.py").resolve()


def test_overlay_keeps_every_other_setting_of_wrangler_toml(base: dict, overlay: dict) -> None:
    ignored = {"main", "compatibility_flags"}
    assert {k: v for k, v in overlay.items() if k not in ignored} == {k: v for k, v in base.items() if k not in ignored}


def test_default_overlay_lives_in_the_ignored_cache() -> None:
    assert overlay_config.DEFAULT_OUT.is_relative_to(ROOT / ".cache")


def test_given_vars_and_kv_ids_override_wrangler_toml_only_there(base: dict, tmp_path: Path) -> None:
    path = overlay_config.write_overlay(
        tmp_path / "wrangler.dev.json",
        variables={"ENVIRONMENT": "local", "BACKEND_ECHO_URL": "http://127.0.0.1:9"},
        kv_ids={"BACKEND_CONFIG_KV": "local-kv"},
    )
    overlay = json.loads(path.read_text(encoding="utf-8"))
    assert overlay["vars"] == {**base["vars"], "ENVIRONMENT": "local", "BACKEND_ECHO_URL": "http://127.0.0.1:9"}
    assert [ns["id"] for ns in overlay["kv_namespaces"] if ns["binding"] == "BACKEND_CONFIG_KV"] == ["local-kv"]
    assert overlay["ratelimits"] == base["ratelimits"]


def test_unknown_kv_binding_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="NOPE"):
        overlay_config.write_overlay(tmp_path / "w.json", kv_ids={"NOPE": "x"})
