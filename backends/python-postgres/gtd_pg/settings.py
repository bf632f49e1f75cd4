"""Settings, read once from the environment; a bad value stops start-up with a message naming the variable.

PORT          TCP port to listen on. Default 3004.
HOST          Address to bind. Default 0.0.0.0 (containers); tests use 127.0.0.1.
DATABASE_URL  postgresql://user:password@host:port/database (postgres:// too).
              Default postgresql://gtd:gtd@127.0.0.1:54329/gtd, the private server
              that `make run` starts (pgserver.py).
BACKEND_ID    The id reported by /health. Default "python-postgres".
WORKERS       Server processes (uvicorn --workers). Default 1.
POOL_MAX      Most database connections per worker. Default 10.
DB_TIMEOUT_MS Deadline for one request's database work (a connection from the pool,
              connecting if needed, the queries), in ms; past it the request is
              answered 503 database_unavailable. Default 5000. (/health has its own
              1 s deadline, gtd_pg.store.HEALTH_TIMEOUT_S; POST /import 60 s or this,
              if longer, gtd_pg.store.IMPORT_TIMEOUT_S.)
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgresql://gtd:gtd@127.0.0.1:54329/gtd"


class SettingsError(ValueError):
    """A setting is malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    port: int
    host: str
    database_url: str
    backend_id: str
    workers: int
    pool_max: int
    db_timeout_ms: int = 5000

    @property
    def database_url_redacted(self) -> str:
        return redact(self.database_url)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        port=_int(env, "PORT", "3004", 1, 65535),
        host=env.get("HOST") or "0.0.0.0",
        database_url=_database_url(env.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        backend_id=env.get("BACKEND_ID") or "python-postgres",
        workers=_int(env, "WORKERS", "1", 1, 64),
        pool_max=_int(env, "POOL_MAX", "10", 1, 1000),
        db_timeout_ms=_int(env, "DB_TIMEOUT_MS", "5000", 1, 600_000),
    )


def _int(env: Mapping[str, str], name: str, default: str, low: int, high: int) -> int:
    raw = env.get(name)
    raw = default if raw is None else raw
    if not re.fullmatch(r"[0-9]+", raw) or not low <= int(raw) <= high:
        raise SettingsError(f"{name} must be an integer between {low} and {high}, got {raw!r}")
    return int(raw)


def _database_url(raw: str) -> str:
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError when malformed
    except ValueError:
        parts, port = None, None
    ok = (
        parts is not None
        and parts.scheme in ("postgresql", "postgres")
        and (parts.hostname or "host=" in parts.query)
        and parts.path not in ("", "/")
        and (port is None or 1 <= port <= 65535)
    )
    if not ok:
        raise SettingsError(
            f"DATABASE_URL must look like postgresql://user:password@host:port/database, got {redact(raw)!r}"
        )
    return raw


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for logs and error messages."""
    return re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:***@", url)
