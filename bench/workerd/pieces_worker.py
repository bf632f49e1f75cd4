"""One piece of a Worker's per-request work, repeated N times inside one request.

``GET /?piece=NAME&n=N`` runs the piece N times and answers ``NAME N``; the driver
(bench/workerd/pieces.py) reads the workerd process's CPU time around the request, because
workerd's clocks stand still while a request runs. The gateway's modules are bundled beside
this main module and built from the Worker's env as in production (``gateway.workers``), so
``serve``/``handle`` pieces run the real pipeline; ``*_stub`` ones swap the platform's fetch
for an answer made in Python, to take the network out.
"""

import asyncio
import functools
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import js
from pyodide.ffi import to_js

from gateway.app import Gateway, build_gateway
from gateway.runtime import Response
from gateway.workers import fetch as wfetch
from gateway.workers import headers as wheaders
from gateway.workers import natives as wnatives
from gateway.workers import platform as wplatform
from gateway.workers import serve as wserve

#: What a browser's API call carries after the gateway's own edits (name, value).
PAIRS = [
    ["accept", "application/json"],
    ["user-agent", "wrk"],
    ["origin", "https://app.example.com"],
    ["x-api-key", "k"],
    ["x-forwarded-for", "203.0.113.7"],
    ["x-forwarded-proto", "http"],
    ["x-forwarded-host", "gateway.test"],
    ["x-request-id", "0123456789abcdef"],
]
UPSTREAM_PAIRS = [
    ["content-type", "application/json"],
    ["content-length", "11"],
    ["server", "nginx"],
    ["date", "Sun, 29 Nov 2026 18:00:00 GMT"],
    ["connection", "keep-alive"],
]
#: 50 more fields, for the per-header pieces (``*_h50`` minus ``*_h0``, divided by 50).
EXTRA_PAIRS = [[f"x-bench-extra-{i:02d}", f"value-{i:02d}-0123456789abcdef0123456789"] for i in range(50)]
LOG_LINE = json.dumps({"ts": "2026-11-29T18:00:00.000Z", "request_id": "0123456789abcdef", "status": 200})


def _python_work() -> int:
    """A fixed amount of plain Python (200 dict stores), to compare the interpreter with CPython's."""
    table = {}
    for i in range(200):
        table[str(i)] = i * i
    return sum(table.values())


Piece = Callable[[], Awaitable[Any] | Any]


def on_fetch(request: Any, env: Any, ctx: Any) -> Any:
    """Entered as the gateway is (a top-level ``on_fetch``), the pieces run in a task."""
    return asyncio.ensure_future(_Pieces(env, ctx).fetch(request))


class _Pieces:
    def __init__(self, env: Any, ctx: Any) -> None:
        self.env, self.ctx = env, ctx

    async def fetch(self, req: Any) -> Any:
        query = dict(part.split("=", 1) for part in req.url.partition("?")[2].split("&") if "=" in part)
        name, n = query.get("piece", "noop"), int(query.get("n", "100"))
        origin = self.env.UPSTREAM_ORIGIN
        gateway: Gateway = wplatform.handler_for(build_gateway, self.env).__self__  # type: ignore[attr-defined]
        platform, real_fetch = gateway.platform, gateway.platform.fetch
        upstream_headers = js.Headers.new(to_js(UPSTREAM_PAIRS))

        async def answer_in_python(*_args: Any) -> Response:
            return Response(200, wheaders.header_fields(upstream_headers), None, "OK")

        async def await_js() -> None:
            await js.Promise.resolve(1)

        async def timeout_around_nothing() -> None:
            async with asyncio.timeout(30):
                pass

        def js_timer() -> None:
            controller = js.AbortController.new()
            js.clearTimeout(js.setTimeout(controller.abort.bind(controller), 30000))

        def headers_built_by_sets() -> None:
            headers = js.Headers.new()
            for key, value in PAIRS:
                headers.set(key, value)

        async def minimal() -> None:
            # bench/workerd/minimal_gateway.py's steps, without the SDK's entry.
            headers = dict(js.Array.from_(req.headers).to_py())
            headers["x-request-id"] = headers.get("x-request-id") or os.urandom(16).hex()
            init = js.JSON.parse(json.dumps({"method": "GET", "headers": headers, "redirect": "manual"}))
            init.signal = js.AbortController.new().signal
            response = await js.fetch(origin + "/", init)
            out = dict(js.Array.from_(response.headers).to_py())
            out["x-backend"] = "upstream"
            js.console.log(LOG_LINE)
            js.Response.new(response.body, js.JSON.parse(json.dumps({"status": response.status, "headers": out})))

        async def passthrough() -> None:
            await js.fetch(origin + "/", req)

        init_json = json.dumps({"method": "GET", "headers": dict(PAIRS), "redirect": "manual"})

        async def fetch_init(signal: bool, timer: bool, manual: bool = True) -> None:
            init = js.JSON.parse(init_json if manual else init_json.replace(',"redirect":"manual"', ""))
            controller = None
            if signal:
                controller = js.AbortController.new()
                init.signal = controller.signal
            handle = js.setTimeout(controller.abort.bind(controller), 30000) if timer and controller else None
            response = await js.fetch(origin + "/", init)
            if handle is not None:
                js.clearTimeout(handle)
            await response.body.cancel()

        async def fetch_init_unattached() -> None:
            js.AbortController.new()
            await fetch_init(False, False)

        async def fetch_init_race() -> None:
            pending = js.fetch(origin + "/", js.JSON.parse(init_json))
            timer = js.scheduler.wait(30000)
            both = to_js([pending, timer])
            response = await js.Promise.race(both)
            await response.body.cancel()

        async def upstream_fetch_cancel(timeout: float | None) -> None:
            response = await wfetch.upstream_fetch(
                "GET", origin + "/", wheaders.header_fields(req.headers), None, timeout
            )
            await response.body.cancel()

        method_init = '{"method":"GET","redirect":"manual"}'

        async def fetch_native_edited() -> None:
            init = js.JSON.parse(method_init)
            init.headers = native_copy_edited(req.headers)
            response = await js.fetch(origin + "/", init)
            await response.body.cancel()

        async def serve() -> None:
            await wserve.serve(build_gateway, req, self.env, self.ctx)

        async def serve_now(request: Any = req) -> None:
            answer = wserve.serve_now(build_gateway, request, self.env, self.ctx)
            if isinstance(answer, asyncio.Future):
                answer = await answer
            await answer.body.cancel()

        # The same request with 50 more headers, and one whose upstream answers with 30 more
        # (nginx's /many-headers/ location, bench/nginx.py): the per-header cost end to end.
        more_headers = js.Headers.new(req.headers)
        for key, value in EXTRA_PAIRS:
            more_headers.set(key, value)
        req_more = js.Request.new(req.url, wnatives.options(headers=more_headers))
        base_url = req.url[: req.url.index("/", 8)]
        req_many = js.Request.new(base_url + "/many-headers/x", wnatives.options(headers=req.headers))

        async def passthrough_to(path: str, request: Any) -> None:
            response = await js.fetch(origin + path, request)
            await response.body.cancel()

        view = wserve.request_view(req)
        few = js.Headers.new(to_js(UPSTREAM_PAIRS))
        many = js.Headers.new(to_js(UPSTREAM_PAIRS + EXTRA_PAIRS))
        few_map, many_map = wheaders.header_fields(few), wheaders.header_fields(many)

        def native_response(headers: Any) -> Any:
            init = js.JSON.parse('{"status":200}')
            init.headers = headers
            return js.Response.new(None, init)

        def native_copy_edited(headers: Any) -> Any:
            copy = js.Headers.new(headers)
            for key, value in PAIRS[:6]:
                copy.set(key, value)
            return copy

        per_header: dict[str, Piece] = {}

        def read_to_py(headers: Any) -> Any:
            return js.Array.from_(headers).to_py()

        def js_response(fields: Any) -> Any:
            return wserve.js_response(Response(200, fields, None))

        for suffix, native, fields in (("h0", few, few_map), ("h50", many, many_map)):
            # partial binds this round's values (a closure would see the last round's).
            per_header[f"read_json_{suffix}"] = functools.partial(wheaders.header_fields, native)
            per_header[f"read_to_py_{suffix}"] = functools.partial(read_to_py, native)
            per_header[f"js_response_{suffix}"] = functools.partial(js_response, fields)
            per_header[f"native_response_{suffix}"] = functools.partial(native_response, native)
            per_header[f"native_copy_edited_{suffix}"] = functools.partial(native_copy_edited, native)
            per_header[f"check_limits_{suffix}"] = functools.partial(gateway._check_limits, fields)
            per_header[f"copy_{suffix}"] = fields.copy
        pieces: dict[str, Piece] = {
            "noop": lambda: None,
            "python_work": _python_work,
            "await_js_promise": await_js,
            "js_global_read": lambda: js.Headers,
            "js_headers_get": lambda: req.headers.get("x-backend"),
            "console_log": lambda: js.console.log(LOG_LINE),
            "os_urandom": lambda: os.urandom(16),
            "asyncio_timeout": timeout_around_nothing,
            "js_timer_cleared": js_timer,
            "headers_read_to_py": lambda: js.Array.from_(req.headers).to_py(),
            "headers_built_by_sets": headers_built_by_sets,
            "headers_built_to_js": lambda: js.Headers.new(to_js(PAIRS)),
            "headers_built_json": lambda: js.Headers.new(js.JSON.parse(json.dumps(PAIRS))),
            "response_init_record": lambda: js.Response.new(
                None, js.JSON.parse(json.dumps({"status": 200, "headers": dict(PAIRS)}))
            ),
            "response_init_pairs": lambda: js.Response.new(
                None, js.JSON.parse(json.dumps({"status": 200, "headers": PAIRS}))
            ),
            "request_view": lambda: wserve.request_view(req),
            "js_response": lambda: wserve.js_response(Response(200, wheaders.header_fields(upstream_headers), None)),
            "handle_stub": lambda: gateway.handle(view),
            "serve_stub": serve,
            "passthrough": passthrough,
            "minimal": minimal,
            "upstream_fetch": lambda: wfetch.upstream_fetch(
                "GET", origin + "/", wheaders.header_fields(req.headers), None, 30
            ),
            "serve": serve,
            "serve_now": serve_now,
            "serve_now_req50": lambda: serve_now(req_more),
            "serve_now_resp30": lambda: serve_now(req_many),
            "passthrough_h0": lambda: passthrough_to("/", req),
            "passthrough_req50": lambda: passthrough_to("/", req_more),
            "passthrough_resp30": lambda: passthrough_to("/many-headers/x", req),
            "fetch_init": lambda: fetch_init(False, False),
            "fetch_init_unattached": fetch_init_unattached,
            "fetch_native_edited": fetch_native_edited,
            "fetch_init_race": fetch_init_race,
            "upstream_fetch_cancel": lambda: upstream_fetch_cancel(30),
            "upstream_fetch_cancel_none": lambda: upstream_fetch_cancel(None),
            "fetch_init_follow": lambda: fetch_init(False, False, manual=False),
            "fetch_init_signal": lambda: fetch_init(True, False),
            "fetch_init_signal_timer": lambda: fetch_init(True, True),
            **per_header,
        }
        piece = pieces.get(name)
        if piece is None:
            return js.Response.new(f"unknown piece {name}; known: {' '.join(pieces)}\n", wnatives.options(status=404))
        if name.endswith("_stub"):
            object.__setattr__(platform, "fetch", answer_in_python)  # the Platform is frozen: swap for this request
        try:
            for _ in range(n):
                result = piece()
                if asyncio.iscoroutine(result):
                    await result
        except Exception as exc:  # the driver prints what broke
            return js.Response.new(f"piece {name} failed: {exc!r}\n", wnatives.options(status=500))
        finally:
            object.__setattr__(platform, "fetch", real_fetch)
        return js.Response.new(f"{name} {n}\n")
