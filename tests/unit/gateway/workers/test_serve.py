"""gateway.workers.serve: a JS request in, the core's answer out, on on_fetch's own stack when it can."""

import asyncio

from gateway.headers import HeaderMap
from gateway.runtime import Request, Response
from gateway.workers.serve import js_response, request_view, serve_now

from .conftest import JSNULL, JsHeaders, JsObject


def js_request(path: str = "/tasks") -> JsObject:
    headers = JsHeaders([("cf-connecting-ip", "203.0.113.7"), ("accept", "application/json")])
    return JsObject(method="GET", url="https://gw.example" + path, headers=headers, body=JSNULL)


class Core:
    """A gateway whose handle answers at once, or after waiting for ``gate``."""

    def __init__(self, gate: asyncio.Future[None] | None = None) -> None:
        self.gate = gate
        self.seen: list[Request] = []

    async def handle(self, request: Request) -> Response:
        self.seen.append(request)
        if self.gate is not None:
            await self.gate
        return Response(200, HeaderMap([("content-type", "text/plain")]), b"ok")


def test_request_view_reads_method_url_headers_and_client_address():
    view = request_view(js_request())
    assert (view.method, view.url, view.client_ip, view.body) == (
        "GET",
        "https://gw.example/tasks",
        "203.0.113.7",
        None,
    )
    assert view.headers.get("accept") == "application/json"


def test_js_response_drops_the_body_of_a_null_body_status():
    answer = js_response(Response(204, HeaderMap(), b"ignored", "No Content"))
    assert answer.body is None
    assert (answer.init.status, answer.init.statusText) == (204, "No Content")


async def test_serve_now_answers_on_the_callers_stack_when_the_core_never_waits():
    core = Core()
    answer = serve_now(lambda variables, platform: core, js_request(), JsObject(ENVIRONMENT="local"), JsObject())
    assert answer.body == b"ok" and answer.init.status == 200
    assert len(core.seen) == 1


async def test_serve_now_hands_a_waiting_core_to_a_task_that_answers():
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    core = Core(gate)
    pending = serve_now(lambda variables, platform: core, js_request(), JsObject(ENVIRONMENT="local"), JsObject())
    assert isinstance(pending, asyncio.Task)
    gate.set_result(None)
    answer = await pending
    assert answer.body == b"ok"
