"""A cloud gateway: backends from the BACKEND_CONFIG_KV namespace, on every runtime.

The twin reads its SQLite KV; the Worker reads Miniflare's KV namespace.
Two instances share the KV (two twin processes on one SQLite file, two
Pyodide isolates in one harness, or two Workers in one workerd) to show
health results travel through it.
"""

from __future__ import annotations

import json
import time

import pytest

from .conftest import assert_error, echo

UPSTREAMS = ("d1", "tok", "nosecret", "shared", "lkg", "plain")
ACCESS_ID = "access-id-7f1c.access"
ACCESS_SECRET = "access-secret-5be9d0"
TOKEN = "bearer-token-4a2e"
REGISTRY_TTL_S = 1
SECRETS = (ACCESS_ID, ACCESS_SECRET, TOKEN)


def document(backend_id: str, url: str, **extra: str) -> str:
    return json.dumps(
        {
            "id": backend_id,
            "name": backend_id.upper(),
            "url": url,
            "type": "cloud",
            "region": "eu",
            "healthEndpoint": "/health",
            **extra,
        }
    )


@pytest.fixture(scope="module")
def gw(launch, upstreams):
    gateway = launch(
        {
            "ENVIRONMENT": "cloud",
            "DEFAULT_BACKEND": "plain",
            "REGISTRY_TTL_S": str(REGISTRY_TTL_S),
            "REGISTRY_STALE_S": "300",
            "HEALTH_TTL_S": "300",
            "D1_ACCESS_ID": ACCESS_ID,
            "D1_ACCESS_SECRET": ACCESS_SECRET,
            "TOK_SECRET": TOKEN,
        },
        kv=True,
        instances=2,
    )
    gateway.kv_put("backend:plain", document("plain", upstreams["plain"].url))
    gateway.kv_put(
        "backend:d1",
        document(
            "d1", upstreams["d1"].url, accessClientIdSecret="D1_ACCESS_ID", accessClientSecretSecret="D1_ACCESS_SECRET"
        ),
    )
    gateway.kv_put("backend:tok", document("tok", upstreams["tok"].url, bearerTokenSecret="TOK_SECRET"))
    gateway.kv_put("backend:nosecret", document("nosecret", upstreams["nosecret"].url, bearerTokenSecret="NOT_SET"))
    gateway.kv_put("backend:shared", document("shared", upstreams["shared"].url))
    gateway.kv_put("backend:lkg", document("lkg", upstreams["lkg"].url))
    return gateway


def test_cloud_backend_comes_from_kv(gw, upstreams):
    echo(gw.get("/cloud/default"))
    assert upstreams["plain"].hits("/cloud/default") == 1


def test_backend_missing_from_kv_is_400_unknown_backend(gw):
    assert_error(gw.get("/cloud/unknown", headers={"x-backend": "absent"}), 400, "unknown_backend")


def test_cloud_gateway_refuses_local_location(gw, upstreams):
    response = gw.get("/cloud/local", headers={"x-backend-location": "local"})
    assert_error(response, 400, "location_unavailable")
    assert upstreams["plain"].hits("/cloud/local") == 0


def test_backend_listing_comes_from_kv_without_urls_or_secrets(gw):
    response = gw.get("/_gateway/backends")
    assert response.status_code == 200
    ids = {b["id"] for b in response.json()["backends"]}
    assert {"plain", "d1", "tok", "shared", "lkg"} <= ids
    assert "127.0.0.1" not in response.text
    assert not any(secret in response.text for secret in SECRETS)


def test_access_service_token_reaches_the_upstream_and_nobody_else(gw, upstreams):
    response = gw.get(
        "/cloud/access",
        headers={"x-backend": "d1", "cf-access-client-id": "forged", "cf-access-client-secret": "forged"},
    )
    echo(response)
    seen = upstreams["d1"].last("/cloud/access").headers
    assert seen["cf-access-client-id"] == ACCESS_ID  # the client's forged values are replaced
    assert seen["cf-access-client-secret"] == ACCESS_SECRET
    probe = upstreams["d1"].last("/health").headers
    assert probe["cf-access-client-id"] == ACCESS_ID
    assert not any(secret in response.text or secret in str(response.headers) for secret in SECRETS)
    assert not any(secret in gw.output() for secret in SECRETS)


def test_bearer_token_secret_replaces_the_client_authorization(gw, upstreams):
    response = gw.get("/cloud/token", headers={"x-backend": "tok", "authorization": "Bearer client-value"})
    echo(response)
    assert upstreams["tok"].last("/cloud/token").headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(response.headers)


def test_document_naming_a_missing_secret_is_503_backend_unavailable_and_logged(gw, upstreams):
    response = gw.get("/cloud/nosecret", headers={"x-backend": "nosecret"})
    assert_error(response, 503, "backend_unavailable", secrets=SECRETS)
    assert upstreams["nosecret"].received == []
    events = gw.wait_for_event("registry_missing_secret")
    assert any(e.get("backend") == "nosecret" and "NOT_SET" in e.get("problem", "") for e in events), events


def test_health_result_is_shared_between_instances_through_kv(gw, upstreams):
    shared = upstreams["shared"]
    echo(gw.get("/cloud/shared", headers={"x-backend": "shared"}, instance=0))
    assert shared.hits("/health") == 1
    stored = gw.kv_get_eventually("health:shared@cloud")
    assert stored is not None, "the health result never reached KV (expirationTtl below KV's 60 s minimum?)"
    assert json.loads(stored)["status"] == "healthy"
    # A second instance that never probed this backend uses the shared result.
    echo(gw.get("/cloud/shared", headers={"x-backend": "shared"}, instance=1))
    assert shared.hits("/cloud/shared") == 2
    assert shared.hits("/health") == 1


def test_last_known_good_document_is_served_while_kv_fails(gw, upstreams):
    echo(gw.get("/cloud/lkg", headers={"x-backend": "lkg"}))
    with gw.kv_outage():
        time.sleep(REGISTRY_TTL_S + 0.3)  # let the cached document go stale, so KV is asked again
        echo(gw.get("/cloud/lkg", headers={"x-backend": "lkg"}))
        never_seen = gw.get("/cloud/lkg", headers={"x-backend": "never-loaded"})
    assert upstreams["lkg"].hits("/cloud/lkg") == 2
    assert_error(never_seen, 503, "registry_unavailable")
    assert gw.wait_for_event("registry_kv_error")
    # KV is back: routing reads it again.
    echo(gw.get("/cloud/lkg", headers={"x-backend": "lkg"}))


def test_backend_listing_reads_every_kv_page(gw, upstreams):
    # KV lists at most 1,000 keys a page. 1,000 keys that are not valid ids
    # (upper case sorts first) push the one valid newcomer onto page two.
    gw.kv_put_many({f"backend:ZZ{i:04d}": "{}" for i in range(1000)})
    gw.kv_put("backend:zz-last", document("zz-last", upstreams["plain"].url))
    response = gw.get("/_gateway/backends")
    assert response.status_code == 200
    assert "zz-last" in {b["id"] for b in response.json()["backends"]}
