"""GET /counts (the sidebar in one request), GET /export and POST /import (contract v2 §4, §7)."""

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router

from ..http import MAX_IMPORT_BYTES, json_response, parse_json, query_pairs, read_body
from ..routing import resource
from ..store import Store
from ..transfer import parse_document
from ..validation import TODAY_ONLY, parse_query


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def counts(request: Request) -> Response:
    store = _store(request)
    query = parse_query(query_pairs(request.scope["query_string"]), TODAY_ONLY)
    return json_response(200, await store.counts(query.get("today") or store.today()))


async def export(request: Request) -> Response:
    parse_query(query_pairs(request.scope["query_string"]), {})  # any parameter is a 422 naming it
    return json_response(200, await _store(request).export())


async def import_document(request: Request) -> Response:
    """Idempotency-Key is ignored here: importing the same document twice changes nothing anyway."""
    body = await read_body(request, MAX_IMPORT_BYTES)
    document = await parse_json(body)
    # Checking 10,000 items takes a while of pure Python: off the event loop.
    parsed = await asyncio.to_thread(parse_document, document)
    return json_response(200, await _store(request).import_document(parsed))


router = Router(
    [
        resource("/counts", {"GET": counts}),
        resource("/export", {"GET": export}),
        resource("/import", {"POST": import_document}),
    ],
    redirect_slashes=False,
)
