"""50 MiB through the twin without buffering: its peak RSS barely moves.

That both runtimes carry large bodies intact (sized and chunked uploads, a
download, SHA-256 at both ends) is tests/behaviour/test_local.py's; the
memory bound is the twin's own (the harness models no memory limit).
"""

from __future__ import annotations

import hashlib

import httpx

from tests.support.processes import running_twin
from tests.support.upstream import UpstreamServer, pattern_chunks, pattern_digest

BIG = 50 * 1024 * 1024
GROWTH_LIMIT_MIB = 16


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
    assert growth_mib < GROWTH_LIMIT_MIB, f"twin peak RSS grew {growth_mib:.1f} MiB for a 50 MiB upload"


def test_chunked_upload_of_50_mb_streams_through_without_buffering(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        httpx.get(twin.url + "/echo/warm")
        baseline = twin.rss_peak_kib()
        # A generator body without a length makes httpx send it chunked.
        response = httpx.post(twin.url + "/sink", content=pattern_chunks(BIG), timeout=120)
        growth_mib = (twin.rss_peak_kib() - baseline) / 1024

    assert response.status_code == 200
    assert (response.json()["body_length"], response.json()["body_sha256"]) == (BIG, pattern_digest(BIG))
    assert growth_mib < GROWTH_LIMIT_MIB, f"twin peak RSS grew {growth_mib:.1f} MiB for a 50 MiB chunked upload"


def test_download_of_50_mb_streams_through_without_buffering(tmp_path):
    with UpstreamServer() as up, running_twin(env_for(up.url), tmp_path) as twin:
        httpx.get(twin.url + "/echo/warm")
        baseline = twin.rss_peak_kib()
        digest = hashlib.sha256()
        received = 0
        with httpx.stream("GET", twin.url + f"/big?bytes={BIG}", timeout=120) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(BIG)
            for chunk in response.iter_raw():
                digest.update(chunk)
                received += len(chunk)
        growth_mib = (twin.rss_peak_kib() - baseline) / 1024

    assert received == BIG
    assert digest.hexdigest() == pattern_digest(BIG)
    assert growth_mib < GROWTH_LIMIT_MIB, f"twin peak RSS grew {growth_mib:.1f} MiB for a 50 MiB download"
