"""GET /health: a query touching the schema through the pool; 503 when it fails."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router

from ..http import json_response, log
from ..routing import resource


async def health(request: Request) -> Response:
    state = request.app.state
    try:
        await state.store.ping()
        return json_response(200, {"status": "ok", "backend": state.backend_id, "db": "ok"})
    except Exception as exc:  # noqa: BLE001 - any failure to query is a 503, by contract
        log("error", "health check: database query failed", {"error": repr(exc)})
        return json_response(503, {"status": "error", "backend": state.backend_id, "db": "error"})


router = Router([resource("/health", {"GET": health})], redirect_slashes=False)
