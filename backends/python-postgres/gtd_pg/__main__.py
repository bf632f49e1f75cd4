"""Launcher: `python -m gtd_pg`. Reads the settings (a bad one exits 2 naming the variable),
waits for the database, applies migrations once (exits 1 if the database is newer than
the code), then runs uvicorn with WORKERS processes (uvloop, httptools, no access log).
SIGTERM/SIGINT: uvicorn stops accepting, finishes in-flight requests, closes the pool."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import asyncpg
import uvicorn

from .http import log
from .migrate import SchemaTooNew, TranslationError, migrate
from .settings import Settings, SettingsError, load_settings

CONNECT_DEADLINE_S = 30


async def prepare_database(settings: Settings) -> int:
    deadline = time.monotonic() + CONNECT_DEADLINE_S
    while True:
        try:
            conn = await asyncpg.connect(settings.database_url, timeout=5)
            break
        except (OSError, TimeoutError, asyncpg.CannotConnectNowError) as exc:
            if time.monotonic() > deadline:
                raise ConnectionError(f"cannot connect to {settings.database_url_redacted}: {exc}") from exc
            log("info", "waiting for the database", {"database": settings.database_url_redacted, "error": str(exc)})
            await asyncio.sleep(1)
    try:
        return await migrate(conn, log=log)
    finally:
        await conn.close()


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        log("error", f"invalid setting: {exc}")
        return 2
    try:
        version = asyncio.run(prepare_database(settings))
    except (SchemaTooNew, TranslationError, FileNotFoundError) as exc:
        log("error", f"cannot start: {exc}")
        return 1
    except (ConnectionError, asyncpg.PostgresError) as exc:
        log("error", f"cannot start: database: {exc}")
        return 1
    log(
        "info",
        "listening",
        {
            "url": f"http://{settings.host}:{settings.port}",
            "backend": settings.backend_id,
            "database": settings.database_url_redacted,
            "schema_version": version,
            "workers": settings.workers,
        },
    )
    # uvicorn re-raises the stop signal after its graceful shutdown, restoring the handler it
    # found first; with these no-op handlers a SIGTERM/SIGINT stop ends with status 0.
    stop_signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stop_signals.append(signum))
    uvicorn.run(
        "gtd_pg.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=True,
        timeout_graceful_shutdown=10,
    )
    log("info", "stopped", {"signal": signal.Signals(stop_signals[0]).name} if stop_signals else {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
