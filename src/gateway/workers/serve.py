"""Serving one Worker ``fetch``: the JS ``Request`` to the core's view, the answer back to JS.

:func:`serve_now` (what ``entry.on_fetch`` calls) drives :func:`serve` on the caller's own
stack; :func:`serve` finds the gateway of the request's ``env`` (``platform.handler_for``),
runs its one pipeline and converts the answer.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from typing import Any

from ..runtime import Request, Response
from .defer import request_ctx
from .headers import header_fields, headers_init
from .natives import NULL_BODY_STATUSES, absent, js_body, js_init, natives
from .platform import BuildGateway, handler_for

__all__ = ["js_response", "request_view", "serve", "serve_now"]


def request_view(request: Any) -> Request:
    """The core's view of the raw JS ``Request`` workerd hands ``on_fetch``."""
    headers = header_fields(request.headers)
    body = request.body
    return Request(
        method=request.method,
        url=request.url,
        headers=headers,
        body=None if absent(body) else body,
        client_ip=headers.get("cf-connecting-ip"),
    )


def js_response(response: Response) -> Any:
    """A JS ``Response`` from the core's answer (the body is not copied unless it is bytes)."""
    fields: dict[str, Any] = {"status": response.status, "headers": headers_init(response.headers)}
    if response.reason:
        fields["statusText"] = response.reason
    body = None if response.body is None or response.status in NULL_BODY_STATUSES else js_body(response.body)
    return natives().response.new(body, js_init(fields))


def serve_now(build: BuildGateway, request: Any, env: Any, ctx: Any) -> Any:
    """:func:`serve` driven on the caller's stack: the JS ``Response``, or a future of it.

    workerd calls ``on_fetch`` as a JSPI "promising" call, so on that stack a JS promise can be
    waited for with ``run_sync`` (``upstream_fetch``, the rate limiter). Driven by hand, the
    core runs to its answer in that one call: no task for the coroutine, no future and no
    WebLoop hop per awaited promise (each hop is ~100 µs of workerd's CPU). When the core
    really suspends (an asyncio future: a health check in flight, a KV read), the rest
    continues in a task, as :func:`serve` would, and its future is returned for workerd to
    await. The contextvars of the request live in one context copied here, for both parts.
    """
    context = contextvars.copy_context()
    steps = serve(build, request, env, ctx)
    try:
        suspended_on = context.run(steps.send, None)
    except StopIteration as answered:
        return answered.value
    return asyncio.get_event_loop().create_task(_resume(steps, suspended_on), context=context)


async def _resume(steps: Coroutine[Any, Any, Any], suspended_on: Any) -> Any:
    return await _Suspended(steps, suspended_on)


class _Suspended:
    """A coroutine that already ran up to ``suspended_on``, awaitable from a task.

    Passes what the coroutine yields to the task driving it, and what the task sends or
    throws (a result, a cancellation) back, exactly as if the task had run it from its start.
    """

    __slots__ = ("_first", "_steps")

    def __init__(self, steps: Coroutine[Any, Any, Any], suspended_on: Any) -> None:
        self._steps = steps
        self._first = suspended_on

    def __await__(self) -> Generator[Any, None, Any]:
        steps, yielded = self._steps, self._first
        while True:
            try:
                yield yielded
            except BaseException as exc:  # noqa: BLE001 — handed to the coroutine, as a task would
                try:
                    yielded = steps.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    yielded = steps.send(None)
                except StopIteration as done:
                    return done.value


async def serve(build: BuildGateway, request: Any, env: Any, ctx: Any) -> Any:
    """Answer one Worker ``fetch`` with the gateway core; returns a JS ``Response``.

    ``build`` assembles the gateway for an environment; it runs once per JS
    ``env`` object, and its gateway serves every later request of that env.
    """
    handle = handler_for(build, env)
    token = request_ctx.set(ctx)
    try:
        response = await handle(request_view(request))
    finally:
        request_ctx.reset(token)
    return js_response(response)
