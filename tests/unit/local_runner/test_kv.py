import pytest

from local_runner.kv import SqliteKV
from tests.unit.fakes import FakeClock


@pytest.fixture
def store(tmp_path):
    clock = FakeClock()
    kv = SqliteKV(str(tmp_path / "kv.sqlite"), clock)
    yield kv, clock
    kv.close()


async def test_kv_get_of_absent_key_is_none(store):
    kv, _ = store
    assert await kv.get("nope") is None


async def test_kv_put_then_get(store):
    kv, _ = store
    await kv.put("backend:a", '{"id":"a"}')
    assert await kv.get("backend:a") == '{"id":"a"}'


async def test_kv_put_overwrites_value_and_expiry(store):
    kv, clock = store
    await kv.put("k", "1", expiration_ttl=60)
    await kv.put("k", "2")
    clock.advance(3600)
    assert await kv.get("k") == "2"


async def test_kv_expired_key_reads_as_absent(store):
    kv, clock = store
    await kv.put("k", "v", expiration_ttl=60)
    clock.advance(59)
    assert await kv.get("k") == "v"
    clock.advance(1)
    assert await kv.get("k") is None
    assert await kv.list("") == []


async def test_kv_list_returns_keys_with_prefix_sorted(store):
    kv, _ = store
    for key in ["backend:b", "backend:a", "health:a@local", "backendx"]:
        await kv.put(key, "v")
    assert await kv.list("backend:") == ["backend:a", "backend:b"]


@pytest.mark.parametrize(("prefix", "stored"), [("a_", "ab"), ("a%", "abc"), ("a\\", "ab")])
async def test_kv_list_treats_like_wildcards_literally(store, prefix, stored):
    kv, _ = store
    await kv.put(stored, "v")
    await kv.put(prefix + "x", "v")
    assert await kv.list(prefix) == [prefix + "x"]


async def test_kv_delete_removes_and_ignores_absent(store):
    kv, _ = store
    await kv.put("k", "v")
    await kv.delete("k")
    await kv.delete("never")
    assert await kv.get("k") is None


async def test_kv_persists_across_connections(tmp_path):
    path = str(tmp_path / "kv.sqlite")
    first = SqliteKV(path, FakeClock())
    await first.put("k", "v")
    first.close()
    second = SqliteKV(path, FakeClock())
    assert await second.get("k") == "v"
    second.close()
