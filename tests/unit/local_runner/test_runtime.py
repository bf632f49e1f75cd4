import asyncio

import pytest

from local_runner.runtime import SqliteKV, Tasks, TokenBucketLimiter, headers_from_raw, read_env_file
from tests.unit.fakes import FakeClock

# TokenBucketLimiter --------------------------------------------------------------


async def test_limiter_allows_a_full_bucket_then_refuses():
    limiter = TokenBucketLimiter(3, 60, FakeClock())
    assert [await limiter.allow("ip") for _ in range(4)] == [True, True, True, False]


async def test_limiter_refills_smoothly():
    clock = FakeClock()
    limiter = TokenBucketLimiter(2, 60, clock)  # one token per 30 s
    assert await limiter.allow("ip") and await limiter.allow("ip")
    clock.advance(29)
    assert not await limiter.allow("ip")
    clock.advance(2)
    assert await limiter.allow("ip")
    assert not await limiter.allow("ip")


async def test_limiter_never_holds_more_than_capacity():
    clock = FakeClock()
    limiter = TokenBucketLimiter(2, 60, clock)
    clock.advance(3600)
    assert [await limiter.allow("ip") for _ in range(3)] == [True, True, False]


async def test_limiter_buckets_are_per_key():
    limiter = TokenBucketLimiter(1, 60, FakeClock())
    assert await limiter.allow("a")
    assert not await limiter.allow("a")
    assert await limiter.allow("b")


async def test_refused_calls_do_not_consume_tokens():
    clock = FakeClock()
    limiter = TokenBucketLimiter(1, 10, clock)
    await limiter.allow("ip")
    for _ in range(5):
        assert not await limiter.allow("ip")
    clock.advance(10)
    assert await limiter.allow("ip")


async def test_idle_keys_are_pruned_past_max_keys_but_busy_ones_kept():
    clock = FakeClock()
    limiter = TokenBucketLimiter(1, 10, clock, max_keys=2)
    await limiter.allow("idle")
    clock.advance(10)  # "idle" is full again
    await limiter.allow("busy")
    await limiter.allow("new")  # third key: prune
    assert set(limiter._buckets) == {"busy", "new"}
    assert not await limiter.allow("busy")  # its spent bucket survived the prune


# SqliteKV ------------------------------------------------------------------------


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


# read_env_file -------------------------------------------------------------------


def write(tmp_path, text: str) -> str:
    path = tmp_path / ".env"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_env_file_reads_key_value_lines(tmp_path):
    assert read_env_file(write(tmp_path, "A=1\nB_C = two words \n")) == {"A": "1", "B_C": "two words"}


def test_env_file_skips_comments_and_blank_lines(tmp_path):
    assert read_env_file(write(tmp_path, "# comment\n\n   \n  # indented\nA=1\n")) == {"A": "1"}


def test_env_file_accepts_export_prefix(tmp_path):
    assert read_env_file(write(tmp_path, "export API_KEY=abc\n")) == {"API_KEY": "abc"}


@pytest.mark.parametrize(
    ("raw", "value"), [('"a b"', "a b"), ("'a#b'", "a#b"), ('""', ""), ('"', '"'), ("'a\"", "'a\"")]
)
def test_env_file_strips_matching_quotes_only(tmp_path, raw, value):
    assert read_env_file(write(tmp_path, f"A={raw}\n")) == {"A": value}


def test_env_file_keeps_equals_signs_in_values(tmp_path):
    assert read_env_file(write(tmp_path, "URL=http://h/?a=b\n")) == {"URL": "http://h/?a=b"}


def test_env_file_later_value_wins(tmp_path):
    assert read_env_file(write(tmp_path, "A=1\nA=2\n")) == {"A": "2"}


def test_env_file_empty_value_is_kept(tmp_path):
    assert read_env_file(write(tmp_path, "API_KEY=\n")) == {"API_KEY": ""}


@pytest.mark.parametrize("line", ["JUSTAKEY", "=value", "BAD-KEY=1", "A B=1"])
def test_env_file_bad_line_names_file_and_line(tmp_path, line):
    path = write(tmp_path, f"OK=1\n{line}\n")
    with pytest.raises(ValueError) as err:
        read_env_file(path)
    assert str(err.value).startswith(f"{path}:2:")


# Small helpers -------------------------------------------------------------------


def test_headers_from_raw_decodes_latin1_and_keeps_repeats():
    raw = [(b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"X-Name", "café".encode("latin-1"))]
    headers = headers_from_raw(raw)
    assert [v for k, v in headers.items() if k == "set-cookie"] == ["a=1", "b=2"]
    assert headers.get("x-name") == "café"


async def test_tasks_keep_deferred_work_until_done():
    tasks = Tasks()
    done = []

    async def work():
        await asyncio.sleep(0)
        done.append(1)

    tasks(work())
    await tasks.drain(1)
    assert done == [1]
