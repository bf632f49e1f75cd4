"""``runtime.KV`` over the ``BACKEND_CONFIG_KV`` Workers KV binding."""

from __future__ import annotations

from typing import Any

from .natives import absent, options

__all__ = ["JsKV"]


class JsKV:
    """``runtime.KV`` over a Workers KV binding (string values only)."""

    def __init__(self, binding: Any) -> None:
        self._kv = binding

    async def get(self, key: str) -> str | None:
        value = await self._kv.get(key)
        return None if absent(value) else str(value)

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        if expiration_ttl is None:
            await self._kv.put(key, value)
        else:
            await self._kv.put(key, value, options(expirationTtl=int(expiration_ttl)))

    async def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        cursor = None
        while True:
            page_options = options(prefix=prefix) if cursor is None else options(prefix=prefix, cursor=cursor)
            page = await self._kv.list(page_options)
            keys.extend(str(entry.name) for entry in page.keys)
            cursor = None if page.list_complete else page.cursor
            if absent(cursor) or not cursor:
                return keys

    async def delete(self, key: str) -> None:
        await self._kv.delete(key)
