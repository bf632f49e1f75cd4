"""/tasks and /tasks/{id}: parse and check input, call the Store, shape the response."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router

from ..errors import not_found
from ..http import empty_response, json_response, query_pairs, read_json
from ..idempotency import IdempotentWrite, create_once
from ..routing import path_id, resource
from ..store import Store
from ..validation import TASK, TASK_FILTERS, TODAY_ONLY, parse_query


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def today(request: Request, store: Store) -> str:
    """The `today` query parameter of a single-resource route (others are ignored, as in v1),
    else the backend's UTC date."""
    query = parse_query(query_pairs(request.scope["query_string"]), TODAY_ONLY, strict=False)
    return str(query.get("today") or store.today())


async def list_tasks(request: Request) -> Response:
    store = _store(request)
    filter = parse_query(query_pairs(request.scope["query_string"]), TASK_FILTERS)
    tasks, next_cursor = await store.list_tasks(filter, filter.get("today") or store.today())
    return json_response(200, {"tasks": tasks, "next_cursor": next_cursor})


async def create_task(request: Request) -> Response:
    store = _store(request)

    async def create(body: Any, idempotency: IdempotentWrite | None) -> dict[str, Any]:
        # The Store checks the references (project_id, blocked_by) in its transaction.
        return await store.create_task(TASK.parse(body, "create"), idempotency)

    return await create_once(request, store, create)


async def get_task(request: Request) -> Response:
    store = _store(request)
    id = path_id(request, "task")
    today(request, store)  # accepted and checked; a served task does not depend on it
    task = await store.get_task(id)
    if task is None:
        raise not_found("task")
    return json_response(200, task)


async def update_task(request: Request) -> Response:
    store = _store(request)
    id = path_id(request, "task")
    # The path is checked before the body: a PATCH to a missing task is a 404 whatever it carries.
    if not await store.task_exists(id):
        raise not_found("task")
    day = today(request, store)  # the anchor of a recurring task completed "from completion"
    fields = TASK.parse(await read_json(request), "update")
    result = await store.update_task(id, fields, day)
    if result is None:
        raise not_found("task")  # deleted meanwhile
    task, next_id = result
    return json_response(200, task, {"next-occurrence-id": next_id} if next_id else None)


async def delete_task(request: Request) -> Response:
    if not await _store(request).delete_task(path_id(request, "task")):
        raise not_found("task")
    return empty_response(204)


router = Router(
    [
        resource("/tasks", {"GET": list_tasks, "POST": create_task}),
        resource("/tasks/{id}", {"GET": get_task, "PATCH": update_task, "DELETE": delete_task}),
    ],
    redirect_slashes=False,
)
