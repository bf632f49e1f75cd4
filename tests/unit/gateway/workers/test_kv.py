"""gateway.workers.kv: ``runtime.KV`` over a Workers KV binding."""

from types import SimpleNamespace

from gateway.workers.kv import JsKV

from .conftest import JSNULL


class Binding:
    """A KV namespace binding: values in a dict, listed two keys a page."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.ttls: dict[str, int] = {}

    async def get(self, key):
        return self.values.get(key, JSNULL)

    async def put(self, key, value, options=None):
        self.values[key] = value
        if options is not None:
            self.ttls[key] = options.expirationTtl

    async def list(self, options):
        names = sorted(k for k in self.values if k.startswith(options.prefix))
        start = int(getattr(options, "cursor", 0) or 0)
        page = names[start : start + 2]
        done = start + 2 >= len(names)
        return SimpleNamespace(
            keys=[SimpleNamespace(name=n) for n in page], list_complete=done, cursor=None if done else str(start + 2)
        )

    async def delete(self, key):
        self.values.pop(key, None)


async def test_a_missing_key_is_none():
    assert await JsKV(Binding()).get("nope") is None


async def test_put_with_a_ttl_passes_expiration_ttl():
    binding = Binding()
    await JsKV(binding).put("k", "v", expiration_ttl=60)
    assert (binding.values["k"], binding.ttls["k"]) == ("v", 60)


async def test_list_follows_the_cursor_over_every_page():
    binding = Binding()
    kv = JsKV(binding)
    for name in ("b/1", "b/2", "b/3", "b/4", "b/5", "other"):
        await kv.put(name, "x")
    assert await kv.list("b/") == ["b/1", "b/2", "b/3", "b/4", "b/5"]


async def test_delete_removes_the_key():
    binding = Binding()
    kv = JsKV(binding)
    await kv.put("k", "v")
    await kv.delete("k")
    assert await kv.get("k") is None
