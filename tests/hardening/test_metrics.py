"""``GET /_gateway/metrics`` on the twin as a process: Prometheus text that a scraper can parse."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import running_twin
from tests.support.upstream import UpstreamServer

KEY = "metrics-key-0123456789"


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = httpx.get(url + "/_gateway/metrics", headers={"x-api-key": KEY}, timeout=10)
    assert response.status_code == 200, response.text
    assert "://" not in response.text and KEY not in response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_twin_metrics_count_what_it_answered(tmp_path):
    with UpstreamServer() as up:
        env = {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": up.url, "API_KEY": KEY}
        with running_twin(env, tmp_path) as twin, httpx.Client(timeout=10, headers={"x-api-key": KEY}) as http:
            for _ in range(25):
                assert http.get(twin.url + "/echo/m").status_code == 200
            assert http.get(twin.url + "/x", headers={"x-backend": "nope"}).status_code == 400
            assert httpx.get(twin.url + "/_gateway/metrics", timeout=10).status_code == 401
            found = scrape(twin.url)

    ok = frozenset({("backend", "app"), ("location", "local"), ("status_class", "2xx")})
    assert found[("gateway_requests_total", ok)] == 25
    assert found[("gateway_upstream_duration_seconds_count", frozenset({("backend", "app")}))] == 25
    assert found[("gateway_backend_healthy", frozenset({("backend", "app"), ("location", "local")}))] == 1
    unrouted_4xx = frozenset({("backend", "-"), ("location", "-"), ("status_class", "4xx")})
    assert found[("gateway_requests_total", unrouted_4xx)] == 2  # the unknown backend and the 401
    assert found[("gateway_in_flight_requests", frozenset())] == 1  # the scrape itself
