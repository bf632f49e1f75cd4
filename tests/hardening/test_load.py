"""The short soak: scripts/soak.py at 5,000 requests (the full one is a separate command)."""

from __future__ import annotations

import importlib.util

from tests.support.processes import ROOT


def _soak():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_short_soak_serves_every_request_without_fd_or_memory_growth(tmp_path):
    soak = _soak()
    report = soak.run(requests=5000, concurrency=64, warmup=1000, log_path=tmp_path / "soak.log")

    assert report["errors"] == 0, report
    assert report["outcomes"] == {"200": 5000}, report  # no rate limit unless configured
    fds_before, fds_after = report["twin_fds"]
    assert fds_after - fds_before <= soak.FD_SLACK, report
    rss_before, rss_after = report["twin_rss_mib"]
    assert rss_after - rss_before <= soak.RSS_SLACK_MIB, report
