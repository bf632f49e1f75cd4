import json

import pytest

from gateway.app import create_registry
from gateway.errors import BackendUnavailable, RegistryUnavailable
from gateway.registry.cloud import CloudRegistry, DocumentError, MissingSecret, parse_document
from gateway.settings import Settings, SettingsError
from tests.unit.fakes import D1_CLOUD_URL, FakeClock, FakeKV, Harness, Logs, cloud_doc

SECRETS = {"D1_ACCESS_ID": "id-value-123", "D1_ACCESS_SECRET": "secret-value-456", "D1_TOKEN": "token-value-789"}


def make(kv: FakeKV, clock: FakeClock, logs: Logs, *, ttl: float = 60, stale: float = 300) -> CloudRegistry:
    return CloudRegistry(kv, clock=clock, log=logs, secrets=SECRETS, ttl_s=ttl, stale_s=stale)


def put(kv: FakeKV, doc: dict) -> None:
    kv.data[f"backend:{doc['id']}"] = json.dumps(doc)


# parse_document ----------------------------------------------------------------


def test_document_becomes_a_backend():
    backend = parse_document("cf-d1", json.dumps(cloud_doc()), {})
    assert (backend.id, backend.name, backend.url, backend.type, backend.region, backend.health_path) == (
        "cf-d1",
        "Cloudflare D1",
        D1_CLOUD_URL,
        "cloud",
        "eu-west",
        "/health",
    )
    assert backend.upstream_headers == ()


def test_document_unknown_fields_are_ignored():
    backend = parse_document("cf-d1", json.dumps(cloud_doc(colour="blue", nested={"a": 1})), {})
    assert backend.id == "cf-d1"


def test_document_defaults_type_name_and_health_endpoint():
    backend = parse_document("cf-d1", json.dumps({"id": "cf-d1", "url": D1_CLOUD_URL}), {})
    assert (backend.type, backend.name, backend.health_path, backend.region) == ("cloud", "cf-d1", "/health", None)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        json.dumps(cloud_doc(id="other")),
        json.dumps(cloud_doc(type="edge")),
        json.dumps(cloud_doc(url=None)),
        json.dumps(cloud_doc(url=42)),
        json.dumps(cloud_doc(url="http://d1.example.com")),
        json.dumps(cloud_doc(url="https://u:p@d1.example.com")),
        json.dumps(cloud_doc(name="")),
        json.dumps(cloud_doc(region=5)),
        json.dumps(cloud_doc(healthEndpoint="health")),
        json.dumps(cloud_doc(accessClientIdSecret="D1_ACCESS_ID")),
        json.dumps(cloud_doc(bearerTokenSecret=7)),
    ],
)
def test_invalid_document_is_refused(raw):
    with pytest.raises(DocumentError):
        parse_document("cf-d1", raw, SECRETS)


def test_cloud_document_over_http_is_allowed_for_loopback():
    backend = parse_document("cf-d1", json.dumps(cloud_doc(url="http://127.0.0.1:8787")), {})
    assert backend.url == "http://127.0.0.1:8787"


def test_document_error_never_contains_the_url():
    with pytest.raises(DocumentError) as err:
        parse_document("cf-d1", json.dumps(cloud_doc(url="http://secret-host.example.com")), {})
    assert "secret-host" not in str(err.value)


def test_access_secrets_become_access_headers():
    doc = cloud_doc(accessClientIdSecret="D1_ACCESS_ID", accessClientSecretSecret="D1_ACCESS_SECRET")
    backend = parse_document("cf-d1", json.dumps(doc), SECRETS)
    assert dict(backend.upstream_headers) == {
        "cf-access-client-id": "id-value-123",
        "cf-access-client-secret": "secret-value-456",
    }


def test_bearer_secret_becomes_authorization():
    backend = parse_document("cf-d1", json.dumps(cloud_doc(bearerTokenSecret="D1_TOKEN")), SECRETS)
    assert dict(backend.upstream_headers) == {"authorization": "Bearer token-value-789"}


def test_missing_secret_is_its_own_error():
    with pytest.raises(MissingSecret) as err:
        parse_document("cf-d1", json.dumps(cloud_doc(bearerTokenSecret="NOT_SET")), SECRETS)
    assert "NOT_SET" in str(err.value)


# CloudRegistry -------------------------------------------------------------------


async def test_get_reads_backend_key(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    backend = await make(kv, clock, logs).get("cf-d1", "cloud")
    assert backend.url == D1_CLOUD_URL
    assert kv.gets == ["backend:cf-d1"]


async def test_get_of_absent_key_is_none(clock, logs):
    assert await make(FakeKV(), clock, logs).get("nope", "cloud") is None


async def test_get_of_other_location_is_none(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    registry = make(kv, clock, logs)
    assert await registry.get("cf-d1", "local") is None
    assert await registry.locations("cf-d1") == ("cloud",)


async def test_documents_are_cached_for_the_ttl(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    registry = make(kv, clock, logs, ttl=60)
    await registry.get("cf-d1", "cloud")
    clock.advance(59)
    await registry.get("cf-d1", "cloud")
    assert len(kv.gets) == 1
    clock.advance(2)
    await registry.get("cf-d1", "cloud")
    assert len(kv.gets) == 2


async def test_changed_document_is_seen_after_the_ttl(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    registry = make(kv, clock, logs, ttl=60)
    await registry.get("cf-d1", "cloud")
    put(kv, cloud_doc(url="https://new.example.com"))
    clock.advance(61)
    assert (await registry.get("cf-d1", "cloud")).url == "https://new.example.com"


async def test_bad_document_is_logged_and_treated_as_absent(clock, logs):
    kv = FakeKV()
    kv.data["backend:cf-d1"] = "{broken"
    assert await make(kv, clock, logs).get("cf-d1", "cloud") is None
    (event,) = logs.events("registry_bad_document")
    assert event["backend"] == "cf-d1"


async def test_missing_secret_makes_backend_unavailable_and_is_logged(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc(bearerTokenSecret="NOT_SET"))
    with pytest.raises(BackendUnavailable):
        await make(kv, clock, logs).get("cf-d1", "cloud")
    (event,) = logs.events("registry_missing_secret")
    assert event["backend"] == "cf-d1"
    assert "NOT_SET" in event["problem"]


async def test_kv_failure_serves_last_good_copy_within_stale_window(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    registry = make(kv, clock, logs, ttl=60, stale=300)
    await registry.get("cf-d1", "cloud")
    kv.failing = True
    clock.advance(60 + 299)
    assert (await registry.get("cf-d1", "cloud")).url == D1_CLOUD_URL
    assert logs.events("registry_kv_error")


async def test_kv_failure_beyond_stale_window_is_registry_unavailable(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    registry = make(kv, clock, logs, ttl=60, stale=300)
    await registry.get("cf-d1", "cloud")
    kv.failing = True
    clock.advance(60 + 301)
    with pytest.raises(RegistryUnavailable):
        await registry.get("cf-d1", "cloud")


async def test_kv_failure_without_a_copy_is_registry_unavailable(clock, logs):
    kv = FakeKV()
    kv.failing = True
    with pytest.raises(RegistryUnavailable):
        await make(kv, clock, logs).get("cf-d1", "cloud")


async def test_list_uses_backend_prefix_and_skips_bad_documents(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc("b-two", name="Two"))
    put(kv, cloud_doc("a-one", name="One"))
    kv.data["backend:broken"] = "nope"
    kv.data["backend:Bad_Id"] = json.dumps(cloud_doc("Bad_Id"))
    kv.data["health:a-one@cloud"] = "{}"
    backends = await make(kv, clock, logs).list()
    assert kv.lists == ["backend:"]
    assert [b.id for b in backends] == ["a-one", "b-two"]


async def test_list_skips_backend_with_missing_secret(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc("a-one", bearerTokenSecret="NOT_SET"))
    put(kv, cloud_doc("b-two"))
    assert [b.id for b in await make(kv, clock, logs).list()] == ["b-two"]


async def test_list_with_kv_down_and_nothing_cached_is_registry_unavailable(clock, logs):
    kv = FakeKV()
    kv.failing = True
    with pytest.raises(RegistryUnavailable):
        await make(kv, clock, logs).list()


async def test_list_with_kv_down_serves_cached_backends(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    registry = make(kv, clock, logs)
    await registry.get("cf-d1", "cloud")
    kv.failing = True
    assert [b.id for b in await registry.list()] == ["cf-d1"]


async def test_list_with_kv_down_beyond_stale_window_is_registry_unavailable(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc())
    registry = make(kv, clock, logs, ttl=60, stale=300)
    await registry.get("cf-d1", "cloud")
    kv.failing = True
    clock.advance(400)
    with pytest.raises(RegistryUnavailable):
        await registry.list()


async def test_secret_values_never_reach_the_log(clock, logs):
    kv = FakeKV()
    put(kv, cloud_doc("a-one", accessClientIdSecret="D1_ACCESS_ID", accessClientSecretSecret="NOT_SET"))
    put(kv, cloud_doc("b-two", bearerTokenSecret="D1_TOKEN", url="http://plain.example.com"))
    registry = make(kv, clock, logs)
    await registry.list()
    kv.failing = True
    clock.advance(1000)
    with pytest.raises(RegistryUnavailable):
        await registry.get("a-one", "cloud")
    text = "\n".join(logs)
    assert logs
    for value in SECRETS.values():
        assert value not in text


def test_cloud_environment_without_kv_is_a_settings_error():
    settings = Settings.from_env({"ENVIRONMENT": "cloud"})
    with pytest.raises(SettingsError) as err:
        create_registry(settings, Harness.local().platform)
    assert err.value.variable == "BACKEND_CONFIG_KV"


def test_cloud_environment_with_kv_builds_a_cloud_registry():
    settings = Settings.from_env({"ENVIRONMENT": "cloud"})
    assert isinstance(create_registry(settings, Harness.cloud({}).platform), CloudRegistry)
