from gateway.app import create_registry
from gateway.backends import Backend
from gateway.registry.local import LocalRegistry
from gateway.settings import Settings
from tests.unit.fakes import Harness

BUN = Backend("bun-sqlite", "Bun", "http://bun:3000", "local")
D1_LOCAL = Backend("cf-d1", "D1", "http://d1:8788", "local")
D1_CLOUD = Backend("cf-d1", "D1", "https://d1.example.com", "cloud")


async def test_get_returns_the_entry_at_the_location():
    registry = LocalRegistry([BUN, D1_LOCAL, D1_CLOUD])
    assert await registry.get("cf-d1", "cloud") is D1_CLOUD
    assert await registry.get("cf-d1", "local") is D1_LOCAL


async def test_get_of_missing_location_is_none():
    assert await LocalRegistry([BUN]).get("bun-sqlite", "cloud") is None


async def test_get_of_unknown_id_is_none():
    assert await LocalRegistry([BUN]).get("nope", "local") is None


async def test_locations_lists_every_location_in_order():
    registry = LocalRegistry([D1_CLOUD, BUN, D1_LOCAL])
    assert await registry.locations("cf-d1") == ("local", "cloud")
    assert await registry.locations("bun-sqlite") == ("local",)
    assert await registry.locations("nope") == ()


async def test_list_is_sorted_by_id_then_location():
    registry = LocalRegistry([D1_LOCAL, BUN, D1_CLOUD])
    listed = await registry.list()
    assert [b.id for b in listed] == ["bun-sqlite", "cf-d1", "cf-d1"]
    assert set(listed) == {BUN, D1_LOCAL, D1_CLOUD}


async def test_local_environment_builds_a_registry_from_variables():
    settings = Settings.from_env(
        {
            "ENVIRONMENT": "local",
            "BACKEND_BUN_SQLITE_URL": "http://127.0.0.1:3001",
            "BACKEND_CF_D1_CLOUD_URL": "https://d1.example.com",
        }
    )
    registry = create_registry(settings, Harness.local().platform)
    assert isinstance(registry, LocalRegistry)
    assert (await registry.get("bun-sqlite", "local")).url == "http://127.0.0.1:3001"
    assert (await registry.get("cf-d1", "cloud")).url == "https://d1.example.com"
