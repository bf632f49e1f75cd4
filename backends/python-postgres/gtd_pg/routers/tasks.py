"""/tasks and /tasks/{id}: parse and check input, call the Store, shape the response."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router

from ..errors import invalid, not_found
from ..http import empty_response, json_response, query_pairs, read_json
from ..idempotency import IdempotentWrite, create_once
from ..routing import path_id, resource
from ..store import Store
from ..validation import TASK, TASK_FILTERS, parse_query


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def check_project_ref(store: Store, project_id: str | None) -> None:
    """A referenced project must exist; otherwise the request is invalid, not "not found"."""
    if project_id and not await store.project_exists(project_id):
        raise invalid("project_id", "project_id does not name an existing project")


async def list_tasks(request: Request) -> Response:
    filter = parse_query(query_pairs(request.scope["query_string"]), TASK_FILTERS)
    return json_response(200, {"tasks": await _store(request).list_tasks(filter)})


async def create_task(request: Request) -> Response:
    store = _store(request)

    async def create(body: Any, idempotency: IdempotentWrite | None) -> dict[str, Any]:
        fields = TASK.parse(body, "create")
        await check_project_ref(store, fields.get("project_id"))
        return await store.create_task(fields, idempotency)

    return await create_once(request, store, create)


async def get_task(request: Request) -> Response:
    task = await _store(request).get_task(path_id(request, "task"))
    if task is None:
        raise not_found("task")
    return json_response(200, task)


async def update_task(request: Request) -> Response:
    store = _store(request)
    id = path_id(request, "task")
    # The path is checked before the body: a PATCH to a missing task is a 404 whatever it carries.
    if await store.get_task(id) is None:
        raise not_found("task")
    fields = TASK.parse(await read_json(request), "update")
    await check_project_ref(store, fields.get("project_id"))
    task = await store.update_task(id, fields)
    if task is None:
        raise not_found("task")  # deleted meanwhile
    return json_response(200, task)


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
