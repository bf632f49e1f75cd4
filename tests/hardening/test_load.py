"""The short soaks: devstack.soak at 5,000 and 3,000 requests (the full one is a separate command)."""

from __future__ import annotations

from devstack import soak


def test_short_soak_serves_every_request_without_fd_or_memory_growth(tmp_path):
    report = soak.run(requests=5000, concurrency=64, warmup=1000, log_path=tmp_path / "soak.log")

    assert report["errors"] == 0, report
    assert report["outcomes"] == {"200": 5000}, report  # no rate limit unless configured
    fds_before, fds_after = report["twin_fds"]
    assert fds_after - fds_before <= soak.FD_SLACK, report
    rss_before, rss_after = report["twin_rss_mib"]
    assert rss_after - rss_before <= soak.RSS_SLACK_MIB, report


def test_rate_limit_under_load_admits_at_most_the_budget_and_answers_the_rest_429(tmp_path):
    # The cases of one client against a rate limit are in tests/behaviour/test_rate_limit.py (both runtimes).
    report = soak.run(requests=3000, concurrency=64, warmup=0, rate_limit=1000, log_path=tmp_path / "soak-rl.log")

    outcomes = report["outcomes"]
    assert report["errors"] == 0, report
    assert set(outcomes) <= {"200", "429"}
    refill = 1000 / 60 * (report["seconds"] + 1)
    assert 1000 <= outcomes["200"] <= 1000 + refill + 1, report
    assert outcomes["429"] == 3000 - outcomes["200"]
