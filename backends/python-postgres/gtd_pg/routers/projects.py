"""/projects and /projects/{id}. Deleting a project keeps its tasks (project_id -> null)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router

from ..errors import not_found
from ..http import empty_response, json_response, query_pairs, read_json
from ..idempotency import IdempotentWrite, create_once
from ..routing import path_id, resource
from ..store import Store
from ..validation import PROJECT, PROJECT_FILTERS, TODAY_ONLY, parse_query


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def list_projects(request: Request) -> Response:
    # `today` is accepted (the app sends it everywhere) and has no effect on projects.
    filter = parse_query(query_pairs(request.scope["query_string"]), PROJECT_FILTERS)
    projects, next_cursor = await _store(request).list_projects(filter)
    return json_response(200, {"projects": projects, "next_cursor": next_cursor})


async def create_project(request: Request) -> Response:
    store = _store(request)

    async def create(body: Any, idempotency: IdempotentWrite | None) -> dict[str, Any]:
        return await store.create_project(PROJECT.parse(body, "create"), idempotency)

    return await create_once(request, store, create)


async def get_project(request: Request) -> Response:
    id = path_id(request, "project")
    parse_query(query_pairs(request.scope["query_string"]), TODAY_ONLY, strict=False)
    project = await _store(request).get_project(id)
    if project is None:
        raise not_found("project")
    return json_response(200, project)


async def update_project(request: Request) -> Response:
    store = _store(request)
    id = path_id(request, "project")
    if not await store.project_exists(id):
        raise not_found("project")
    fields = PROJECT.parse(await read_json(request), "update")
    project = await store.update_project(id, fields)
    if project is None:
        raise not_found("project")
    return json_response(200, project)


async def delete_project(request: Request) -> Response:
    if not await _store(request).delete_project(path_id(request, "project")):
        raise not_found("project")
    return empty_response(204)


router = Router(
    [
        resource("/projects", {"GET": list_projects, "POST": create_project}),
        resource("/projects/{id}", {"GET": get_project, "PATCH": update_project, "DELETE": delete_project}),
    ],
    redirect_slashes=False,
)
