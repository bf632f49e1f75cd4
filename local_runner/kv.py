"""The twin's stand-in for Workers KV: one SQLite file (``--kv-path``)."""

from __future__ import annotations

import os
import sqlite3

from gateway.runtime import Clock, SystemClock


class SqliteKV:
    """``runtime.KV`` in one SQLite file, so cloud mode runs locally too.

    Expired keys read as absent, as in Workers KV. Calls are synchronous
    SQLite statements: they take microseconds and the gateway caches what it
    reads, so a thread hop would cost more than it saves.
    """

    def __init__(self, path: str, clock: Clock | None = None, *, busy_timeout_s: float = 0.0) -> None:
        # Calls run on the event loop, so a lock held by another process
        # must fail at once (the registry and health cache cope) rather than
        # wait sqlite's default 5 s with every request frozen behind it.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL)")
        self._clock = clock or SystemClock()

    async def get(self, key: str) -> str | None:
        row = self._db.execute(
            "SELECT value FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)",
            (key, self._clock.wall()),
        ).fetchone()
        return row[0] if row else None

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        expires = None if expiration_ttl is None else self._clock.wall() + expiration_ttl
        self._db.execute(
            "INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, expires),
        )

    async def list(self, prefix: str) -> list[str]:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute(
            "SELECT key FROM kv WHERE key LIKE ? ESCAPE '\\' AND (expires_at IS NULL OR expires_at > ?) ORDER BY key",
            (escaped + "%", self._clock.wall()),
        ).fetchall()
        return [r[0] for r in rows]

    async def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def close(self) -> None:
        self._db.close()


class FaultInjectingKV:
    """A KV whose every call fails while a trigger file exists (``--kv-fault-file``).

    A test aid: an open SQLite connection keeps working when its file is
    replaced or made unreadable, so the twin offers this switch to make its
    KV fail the way an outage of Workers KV does, without touching the code
    under test (the registry and health cache see a real exception).
    """

    def __init__(self, kv: SqliteKV, trigger: str) -> None:
        self._kv = kv
        self._trigger = trigger

    def _check(self) -> None:
        if os.path.exists(self._trigger):
            raise sqlite3.OperationalError("injected KV fault")

    async def get(self, key: str) -> str | None:
        self._check()
        return await self._kv.get(key)

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        self._check()
        await self._kv.put(key, value, expiration_ttl)

    async def list(self, prefix: str) -> list[str]:
        self._check()
        return await self._kv.list(prefix)

    async def delete(self, key: str) -> None:
        self._check()
        await self._kv.delete(key)
