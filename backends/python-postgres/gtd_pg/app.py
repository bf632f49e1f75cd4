"""The ASGI app: Starlette, one router per resource, an asyncpg pool opened in the lifespan.

uvicorn --factory gtd_pg.app:create_app      # or: python -m gtd_pg (reads WORKERS etc.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from .http import log
from .migrate import migrate
from .routers import health, projects, tasks, transfer
from .routing import route_not_found
from .settings import Settings, load_settings
from .store import Store


async def open_pool(settings: Settings, min_size: int = 1) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        settings.database_url,
        min_size=min(min_size, settings.pool_max),
        max_size=settings.pool_max,
        # A (re)connection to a server that accepts but never answers gives up with the
        # request's deadline instead of asyncpg's default 60 s.
        timeout=settings.db_timeout_ms / 1000,
        command_timeout=30,
        server_settings={"application_name": settings.backend_id, "timezone": "UTC"},
    )


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> Starlette:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await open_pool(settings)
        try:
            if run_migrations:
                # Idempotent and serialised by an advisory lock: with WORKERS > 1 every worker
                # checks, one applies. Refuses a database newer than the code (SchemaTooNew).
                async with pool.acquire() as conn:
                    await migrate(conn, log=log)
            app.state.store = Store(pool, timeout_s=settings.db_timeout_ms / 1000)
            app.state.backend_id = settings.backend_id
            log("info", "worker ready", {"backend": settings.backend_id})
            yield
            log("info", "shutting down", {"backend": settings.backend_id})
        finally:
            await pool.close()

    routes: list[BaseRoute] = [
        *health.router.routes,
        *tasks.router.routes,
        *projects.router.routes,
        *transfer.router.routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.router.redirect_slashes = False
    app.router.default = route_not_found
    return app
