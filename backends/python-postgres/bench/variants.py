"""Minimal GET /tasks apps, one per framework/driver pair, for bench/measure.py.

Each variant does the same work as the real handler: one pooled query
(`SELECT ... FROM tasks ORDER BY created_at DESC, seq DESC`), rows to dicts,
JSON out. Selected with BENCH_VARIANT; DATABASE_URL names the database.

    BENCH_VARIANT=starlette-asyncpg uvicorn bench.variants:app
"""

from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager

SQL = (
    "SELECT id, title, notes, status, project_id, context, due_date, created_at, updated_at "
    "FROM tasks ORDER BY created_at DESC, seq DESC"
)
VARIANT = os.environ.get("BENCH_VARIANT", "starlette-asyncpg")
DSN = os.environ["DATABASE_URL"]
state: dict = {}


def body(rows) -> bytes:
    return json.dumps({"tasks": rows}, ensure_ascii=False, separators=(",", ":")).encode()


framework, driver = VARIANT.split("-")

if driver == "asyncpg":
    import asyncpg

    async def open_pool():
        return await asyncpg.create_pool(DSN, min_size=1, max_size=10)

    async def close_pool(pool):
        await pool.close()

    async def fetch_tasks():
        async with state["pool"].acquire() as conn:
            return [dict(r) for r in await conn.fetch(SQL)]

else:
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    async def open_pool():
        pool = AsyncConnectionPool(DSN, min_size=1, max_size=10, open=False, kwargs={"row_factory": dict_row})
        await pool.open(wait=True)
        return pool

    async def close_pool(pool):
        await pool.close()

    async def fetch_tasks():
        async with state["pool"].connection() as conn:
            cur = await conn.execute(SQL, prepare=True)
            return await cur.fetchall()


@asynccontextmanager
async def lifespan(_app):
    state["pool"] = await open_pool()
    yield
    await close_pool(state["pool"])


if framework == "starlette":
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def list_tasks(request):
        return Response(body(await fetch_tasks()), media_type="application/json")

    app = Starlette(routes=[Route("/tasks", list_tasks, methods=["GET"])], lifespan=lifespan)
else:
    from fastapi import APIRouter, FastAPI
    from fastapi.responses import Response

    router = APIRouter()

    @router.get("/tasks")
    async def list_tasks():
        return Response(body(await fetch_tasks()), media_type="application/json")

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(router)
