"""Method dispatch with the contract's 404/405/HEAD/OPTIONS rules, on Starlette routes.

`resource(path, {"GET": handler, ...})` is a Starlette Route that accepts any
method and dispatches itself: HEAD is served wherever GET is (same status and
headers, no body), OPTIONS answers 204 with Allow on every route, any other
method is 405 with Allow. Handlers take the Request and return a Response or
raise ApiError; anything else they raise is logged and answered 500.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Mapping

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from .errors import ApiError, not_found
from .http import empty_response, error_response, json_response, log
from .validation import is_uuid

Handler = Callable[[Request], Awaitable[Response]]

# The database is down, unreachable, shutting down or too slow (the Store's deadline):
# not a bug, so a 503 the client may retry, not a 500.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,  # connection refused or reset
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,  # class 57: admin shutdown, cannot connect now
    asyncpg.ConnectionDoesNotExistError,  # the connection was closed under the query
)
METHOD_ORDER = ("GET", "POST", "PATCH", "DELETE")


def allow_header(methods: Mapping[str, Handler]) -> str:
    names: list[str] = []
    for name in METHOD_ORDER:
        if name in methods:
            names.append(name)
            if name == "GET":
                names.append("HEAD")
    return ", ".join([*names, "OPTIONS"])


def resource(path: str, methods: Mapping[str, Handler]) -> Route:
    allow = allow_header(methods)
    table = dict(methods)

    async def endpoint(request: Request) -> Response:
        method = request.method
        if method == "OPTIONS":
            return empty_response(204, {"allow": allow})
        handler = table.get("GET" if method == "HEAD" else method)
        if handler is None:
            return error_response(
                ApiError(405, "method_not_allowed", f"method {method} is not allowed here", headers={"allow": allow})
            )
        try:
            return await handler(request)
        except ApiError as err:
            return error_response(err)
        except DATABASE_UNAVAILABLE as exc:
            log("error", "database unavailable", {"method": method, "path": request.url.path, "error": repr(exc)})
            return error_response(ApiError(503, "database_unavailable", "the database cannot be reached; retry later"))
        except Exception as exc:  # noqa: BLE001 - a bug: log the details, show the client nothing internal
            log(
                "error",
                "unhandled error",
                {
                    "method": method,
                    "path": request.url.path,
                    "error": "".join(traceback.format_exception(exc)),
                },
            )
            return json_response(500, {"error": {"code": "internal_error", "message": "internal server error"}})

    return Route(path, _HeadAware(endpoint), methods=None)


class _HeadAware:
    """An ASGI endpoint that sends HEAD responses without their body (status and headers stay)."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await send_response(response, scope, receive, send)


async def send_response(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["method"] != "HEAD":
        await response(scope, receive, send)
        return

    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    await response(scope, receive, send_head)


def path_id(request: Request, what: str) -> str:
    """Path ids: anything that is not a UUID cannot exist, so it is a 404 like any unknown id."""
    raw = str(request.path_params["id"])
    if not is_uuid(raw):
        raise not_found(what)
    return raw.lower()


async def route_not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope.get("type") != "http":
        return
    await send_response(error_response(not_found("route")), scope, receive, send)
