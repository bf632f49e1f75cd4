"""The seam over Cloudflare's Python Workers runtime (Pyodide inside workerd).

The only module of ``gateway`` that imports ``js`` or ``pyodide``. It turns
the Worker's native objects into the core's views (``gateway.runtime``) and
back, and builds the :class:`~gateway.runtime.Platform` the core runs on:

* headers cross the boundary once each way, as one string: a JS ``Headers`` is
  read with one ``JSON.stringify`` of its fields into a ``FetchHeaders`` (a dict
  built by ``json.loads`` and ``dict()``, no Python step per field), and the
  outgoing request's and the answer's are written in one ``JSON.parse`` of their
  init object, the dict handed to ``json.dumps`` as it is. Each FFI call costs
  workerd more than the Python work it would save (docs/benchmarks.md, "Header cost");
  a body stays the JS ``ReadableStream`` itself (copying one above ~10 MB
  into Python crashes the isolate);
* ``fetch`` is the global JS ``fetch`` with ``redirect: "manual"``; JS errors
  become ``UpstreamConnectError``/``UpstreamProtocolError`` here and nowhere
  else. Its deadline is a JS timer on our own ``AbortController``, cleared
  when ``fetch`` settles (``AbortSignal.timeout`` on concurrent fetches
  wedged isolates, workerd#6624);
* ``kv`` wraps the ``BACKEND_CONFIG_KV`` binding, ``rate_limiter`` the
  optional ``RATE_LIMITER`` (Workers Rate Limiting) binding, ``metrics`` the
  optional ``GATEWAY_ANALYTICS`` (Workers Analytics Engine) dataset: one data
  point per request, nothing at all without the binding;
* ``defer`` hands work to ``ctx.waitUntil`` of the request that started it;
* ``capture``/``read`` (shadow traffic) tee a JS body and read a branch.

The platform and the gateway are built once per JS ``env`` object (workerd
keeps one per isolate) and kept, so settings, registry and health cache
survive across requests: :func:`serve` holds the one cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterable, Mapping
from typing import Any

import js
from pyodide.ffi import JsException, JsProxy, create_once_callable, to_js

from .errors import (
    ClientFault,
    InvalidRequest,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    unsendable_request,
)
from .headers import FetchHeaders
from .logs import RequestLog, log_event
from .metrics import data_point
from .runtime import Body, Handler, Headers, Platform, Request, Response, SystemClock

try:  # Pyodide ≥ 0.26 turns JS null into ``jsnull``, older ones into None
    from pyodide.ffi import jsnull
except ImportError:  # pragma: no cover
    jsnull = None

try:  # JSPI's synchronous wait for a promise (Pyodide ≥ 0.27; see serve_now)
    from pyodide.ffi import can_run_sync, run_sync
except ImportError:  # pragma: no cover

    def can_run_sync() -> bool:
        return False

    def run_sync(x: Any) -> Any:
        raise NotImplementedError


KV_BINDING = "BACKEND_CONFIG_KV"
RATE_LIMIT_BINDING = "RATE_LIMITER"
ANALYTICS_BINDING = "GATEWAY_ANALYTICS"

#: Statuses whose response must not carry a body (Fetch standard, "null body status").
_NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})

#: Error text of a reply that was not HTTP: undici's llhttp codes, workerd's parser.
_PROTOCOL_MARKERS = ("hpe_", "parse error", "invalid http", "malformed", "und_err_info")

#: workerd's one text for a subrequest that failed before a response: refused, reset, closed
#: early *and* answered with bytes that are not HTTP all reject with
#: ``Error: Network connection lost.`` (the reason, e.g. hyper's "invalid HTTP version parsed",
#: stays in workerd's own log). A TCP connect to the upstream tells them apart (``_listening``).
_WORKERD_LOST = "network connection lost"

#: Builds the handler for one environment (``gateway.app.build_gateway``).
BuildGateway = Callable[[Mapping[str, str], Platform], Any]

#: The JS ExecutionContext of the request being served (``defer`` needs it).
_request_ctx: contextvars.ContextVar[Any] = contextvars.ContextVar("request_ctx")


def _absent(value: Any) -> bool:
    return value is None or value is jsnull


class _Natives:
    """The JS globals the per-request path calls, each looked up once.

    Every ``js.X`` is a property read on ``globalThis`` and a new proxy (5–10 µs per read
    on workerd, more than most calls cost). They are bound at the first request, not at
    import, so the imported module holds no reference to a JS object (a memory snapshot of
    it could not).
    """

    __slots__ = (
        "abort_controller",
        "array_from",
        "clear_timeout",
        "fetch",
        "fixed_length_stream",
        "identity_stream",
        "log",
        "object_is",
        "parse",
        "response",
        "set_timeout",
        "stringify",
    )

    def __init__(self) -> None:
        self.array_from = js.Array.from_
        self.fetch = js.fetch
        self.parse = js.JSON.parse
        self.stringify = js.JSON.stringify
        self.response = js.Response
        self.abort_controller = js.AbortController
        self.object_is = js.Object.is_
        self.log = js.console.log
        self.set_timeout = js.setTimeout
        self.clear_timeout = js.clearTimeout
        # workerd's byte stream pair, whose pipe from a request body is a native pump (the
        # standard ``TransformStream`` is pumped through JS chunk by chunk: a 32 MiB upload
        # outlasted a 1 s deadline); Node (the harness) has only the standard one.
        self.identity_stream = getattr(js, "IdentityTransformStream", None) or js.TransformStream
        # The same with a declared length, so that ``fetch`` sends ``Content-Length`` (through
        # a stream of unknown length workerd sends the body chunked, which many backends cannot
        # read).
        self.fixed_length_stream = getattr(js, "FixedLengthStream", None)


_bound: _Natives | None = None


def _natives() -> _Natives:
    global _bound
    if _bound is None:
        _bound = _Natives()
    return _bound


def _header_fields(js_headers: Any) -> FetchHeaders:
    """A JS ``Headers`` read into the core's map as one JSON string (two FFI calls in all).

    Iterating the JS object gives each field as the runtime holds it (the SDK's conversion
    to ``http.client.HTTPMessage`` split values on commas, workerd#5915). One string and
    ``json.loads`` make no proxy per field (``to_py`` of the array does), and the map is then
    built by ``dict()`` alone: ~1.3 µs per header on workerd (docs/benchmarks.md, "Header cost").
    """
    natives = _natives()
    return FetchHeaders.from_pairs(json.loads(natives.stringify(natives.array_from(js_headers))))


def _headers_init(headers: Headers) -> dict[str, str] | list[tuple[str, str]]:
    """``headers`` as a ``HeadersInit`` for JSON: a record, or pairs when a name repeats.

    workerd converts a record into its ``Headers`` in half the time a sequence of pairs
    takes; repeated names (``set-cookie``) need the pairs. A ``FetchHeaders`` (every map
    read from JS) hands over its own dict.
    """
    if isinstance(headers, FetchHeaders):
        return headers.init()
    record: dict[str, str] = {}
    for name, value in headers.items():
        if name in record:
            return list(headers.items())
        record[name] = value
    return record


def _js_init(fields: dict[str, Any]) -> Any:
    """A JS init object (``RequestInit``/``ResponseInit``) built by one ``JSON.parse``.

    One call and one string cross the boundary instead of an object set field by field
    and a ``Headers`` edited name by name.
    """
    return _natives().parse(json.dumps(fields, separators=(",", ":")))


def _js_body(body: Body) -> Any:
    """A body JS accepts: streams pass through, the gateway's own bytes are copied once."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return to_js(bytes(body))
    return body


def _options(**fields: Any) -> Any:
    options = js.Object.new()
    for name, value in fields.items():
        setattr(options, name, value)
    return options


async def _upstream_error(exc: JsException, url: str) -> Exception:
    """Map a rejected JS ``fetch`` to the core's upstream failures.

    A request ``fetch`` refuses to send at all (a GET or HEAD with a body) is the client's:
    ``ClientFault`` with its 400 (``errors.unsendable_request``), and the backend is not marked.

    undici (Node) names the cause in its text; workerd says "Network connection lost." for
    every cause, so there a refused connection (503) and an upstream that accepted the
    connection but broke HTTP (502: not HTTP, or closed/reset before a response) are told
    apart by whether the upstream accepts a TCP connection now.
    """
    text = " ".join(
        str(part)
        for part in (
            getattr(exc, "name", ""),
            getattr(exc, "message", "") or exc,
            _cause(exc),
        )
        if part
    ).lower()
    if (refused := unsendable_request(text)) is not None:
        return ClientFault(refused)  # fetch refused the request itself: nothing reached the backend
    if any(marker in text for marker in _PROTOCOL_MARKERS):
        return UpstreamProtocolError(text)
    if _WORKERD_LOST in text and await _listening(url):
        return UpstreamProtocolError(f"{text} (the upstream accepts connections: not an HTTP answer)")
    return UpstreamConnectError(text)


async def _listening(url: str) -> bool:
    """True when the upstream of ``url`` accepts a TCP connection (``cloudflare:sockets``)."""
    try:
        from workers import import_from_javascript  # the Workers SDK: only inside workerd

        connect = import_from_javascript("cloudflare:sockets").connect
    except Exception:  # noqa: BLE001 — no sockets API here (Node harness): keep the text's answer
        return False
    from urllib.parse import urlsplit  # the failure path only: keep it off the cold start

    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    socket = None
    try:
        socket = connect(_options(hostname=parts.hostname or "", port=port))
        await socket.opened
        return True
    except JsException:
        return False
    finally:
        if socket is not None:
            with contextlib.suppress(JsException):
                socket.close()


def _cause(exc: JsException) -> str:
    """undici puts the real reason (``ECONNREFUSED``, ``HPE_…``) on ``cause``."""
    try:
        cause = exc.cause
    except AttributeError:
        return ""
    if _absent(cause):
        return ""
    return " ".join(str(getattr(cause, field, "")) for field in ("code", "message"))


#: How long a request whose body pipe broke waits for ``fetch`` to fail by itself (the
#: upstream's fault) before the client's body is blamed (see :class:`_ClientBody`).
CLIENT_BODY_GRACE_S = 0.5


class _ClientBody:
    """The client's body stream, piped to ``fetch`` so that its own failure can be told apart.

    workerd rejects a subrequest whose body stream failed with the same "Network connection
    lost." as one whose upstream reset (a malformed chunked request body, for one), so the
    client's fault would be answered 502. Here the client's stream is piped into a stream pair
    whose readable side is what ``fetch`` sends, with ``preventAbort``: a broken pipe never
    ends or errors the upstream body by itself (an errored body stream made workerd's
    ``fetch`` *end* the upstream body, so a backend took a truncated request as complete).

    When the pipe breaks, whose side broke it cannot be read from the streams: workerd's native
    pump errors both ends with the same error either way. What differs is ``fetch``: when the
    upstream broke, it rejects by itself at once; when the client's body broke, it waits for
    more body. So after :data:`CLIENT_BODY_GRACE_S` without ``fetch`` settling, :attr:`failed`
    is set and the subrequest is aborted through its ``AbortController``: the backend never
    sees the body end, and ``fetch`` rejects after the flag is up. Only requests with a body
    pay for this (a stream pair and a native pipe, one Python callback at its end). A body
    with a ``Content-Length`` goes through a ``FixedLengthStream`` of that length, so the
    backend still gets ``Content-Length`` rather than a chunked body.
    """

    __slots__ = ("_controller", "_judge", "failed", "readable", "settled")

    def __init__(self, stream: Any, controller: Any, length: int | None) -> None:
        natives = _natives()
        if length is not None and natives.fixed_length_stream is not None:
            channel = natives.fixed_length_stream.new(length)
        else:
            channel = natives.identity_stream.new()
        self.readable = channel.readable
        self._controller = controller
        self._judge: asyncio.Future[None] | None = None
        self.failed = False
        self.settled = False
        piping = asyncio.ensure_future(stream.pipeTo(channel.writable, _options(preventAbort=True)))
        piping.add_done_callback(self._piped)

    def _piped(self, piping: asyncio.Future[Any]) -> None:
        if self.settled or piping.cancelled() or piping.exception() is None:
            return  # fetch already answered or failed, or the whole body went through
        self._judge = asyncio.ensure_future(self._blame_client_unless_fetch_fails())
        self._judge.add_done_callback(_retrieve)

    async def _blame_client_unless_fetch_fails(self) -> None:
        await asyncio.sleep(CLIENT_BODY_GRACE_S)
        if not self.settled:
            self.failed = True
            self._controller.abort()

    def settle(self) -> None:
        """``fetch`` answered or failed: a broken pipe from now on is nobody's verdict."""
        self.settled = True
        if self._judge is not None:
            self._judge.cancel()


def _declared_length(headers: Any) -> int | None:
    """The body's ``Content-Length`` when the request declares a valid one, else None (chunked)."""
    value = headers.get("content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)


async def upstream_fetch(
    method: str, url: str, headers: Headers, body: Body, timeout_s: float | None = None
) -> Response:
    """``runtime.UpstreamFetch`` over the global JS ``fetch``.

    A client body stream goes through :class:`_ClientBody`, so a body that failed on the
    client's side is ``ClientFault(InvalidRequest)`` (400), not the upstream's 502/503.
    Bodiless requests and the gateway's own bytes are sent as they are.

    The deadline is a JS timer that aborts the subrequest through its ``AbortController``
    and is cleared once ``fetch`` settles: no Python callback, nothing left armed (an
    ``asyncio`` timer cancelled in Pyodide's WebLoop stays scheduled, its callback and
    everything it references kept until the request's context is torn down).
    """
    natives = _natives()
    controller = natives.abort_controller.new()
    init = _js_init({"method": method, "headers": _headers_init(headers), "redirect": "manual"})
    init.signal = controller.signal
    timer = None
    if timeout_s is not None:
        timer = natives.set_timeout(controller.abort.bind(controller), timeout_s * 1000)
    client_body = None
    if body is not None:
        if isinstance(body, JsProxy):
            client_body = _ClientBody(body, controller, _declared_length(headers))
            init.body = client_body.readable
        else:
            init.body = _js_body(body)
        # Needed by the Fetch standard for a stream body; workerd ignores it.
        init.duplex = "half"
    try:
        pending = natives.fetch(url, init)
        # On the stack of on_fetch's promising call (serve_now), wait for the promise there: no
        # asyncio future, no WebLoop task hop per subrequest.
        response = run_sync(pending) if can_run_sync() else await pending
    except asyncio.CancelledError:
        controller.abort()  # the caller gave up (a client gone): really drop the upstream request
        raise
    except JsException as exc:
        if client_body is not None and client_body.failed:
            # The client's body broke (e.g. malformed chunked framing): its fault, not the backend's.
            raise ClientFault(InvalidRequest("The request body could not be read")) from None
        if timer is not None and controller.signal.aborted:
            raise UpstreamTimeoutError(f"no response head within {timeout_s} s") from None
        raise await _upstream_error(exc, url) from None
    finally:
        if timer is not None:
            natives.clear_timeout(timer)
        if client_body is not None:
            client_body.settle()
    status = int(response.status)
    stream = response.body
    if _absent(stream) or status in _NULL_BODY_STATUSES:
        stream = None
    # Read once into the core's map: the fetched response's own are immutable anyway.
    return Response(status, _header_fields(response.headers), stream, response.statusText or "")


async def discard(body: Body) -> None:
    """Release a fetched body the core does not forward."""
    if isinstance(body, JsProxy) and not _absent(body):
        with contextlib.suppress(JsException):
            await body.cancel()


def capture(body: Body, limit: int) -> tuple[Body, Awaitable[bytes | None]]:
    """``runtime.Capture``: ``ReadableStream.tee()``; the second branch is read into Python.

    The copy is read at once, in a task of its own, so the tee never holds
    more for it than ``limit`` (the branch is cancelled past it) and the
    first branch goes to its reader at the source's pace.
    """
    if isinstance(body, (bytes, bytearray, memoryview)) or _absent(body):
        data = b"" if _absent(body) else bytes(body)
        done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        done.set_result(data if len(data) <= limit else None)
        return body, done
    first, second = body.tee()
    copy = asyncio.ensure_future(read(second, limit))
    copy.add_done_callback(_retrieve)
    return first, copy


async def read(body: Body, limit: int) -> bytes | None:
    """``runtime.ReadBody`` over a JS ``ReadableStream``: cancelled past ``limit``."""
    if _absent(body):
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body) if len(body) <= limit else None
    reader = body.getReader()
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            try:
                chunk = await reader.read()
            except JsException as exc:
                raise UpstreamConnectError("body read failed") from exc
            if chunk.done:
                return b"".join(parts)
            data = chunk.value.to_bytes()
            size += len(data)
            if size > limit:
                with contextlib.suppress(JsException):
                    await reader.cancel()
                return None
            parts.append(data)
    except asyncio.CancelledError:
        with contextlib.suppress(JsException):
            reader.cancel()
        raise


class JsKV:
    """``runtime.KV`` over a Workers KV binding (string values only)."""

    def __init__(self, binding: Any) -> None:
        self._kv = binding

    async def get(self, key: str) -> str | None:
        value = await self._kv.get(key)
        return None if _absent(value) else str(value)

    async def put(self, key: str, value: str, expiration_ttl: int | None = None) -> None:
        if expiration_ttl is None:
            await self._kv.put(key, value)
        else:
            await self._kv.put(key, value, _options(expirationTtl=int(expiration_ttl)))

    async def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        cursor = None
        while True:
            options = _options(prefix=prefix) if cursor is None else _options(prefix=prefix, cursor=cursor)
            page = await self._kv.list(options)
            keys.extend(str(entry.name) for entry in page.keys)
            cursor = None if page.list_complete else page.cursor
            if _absent(cursor) or not cursor:
                return keys

    async def delete(self, key: str) -> None:
        await self._kv.delete(key)


class JsRateLimiter:
    """``runtime.RateLimiter`` over a Workers Rate Limiting binding."""

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    async def allow(self, key: str) -> bool:
        pending = self._binding.limit(_options(key=key))
        outcome = run_sync(pending) if can_run_sync() else await pending
        return bool(outcome.success)


class AnalyticsEngineMetrics:
    """``runtime.Metrics`` over a Workers Analytics Engine dataset: one data point per answer.

    The point is ``gateway.metrics.data_point`` (fixed blob/double order, the
    backend id as index). ``writeDataPoint`` returns at once (the runtime sends
    points after the response), so nothing here waits. The series live in the
    dataset, queried with the SQL API, so ``/_gateway/metrics`` stays 404.
    """

    exposes = False

    def __init__(self, binding: Any) -> None:
        self._binding = binding

    def started(self) -> None:
        """Nothing: a data point is written once, when the answer is known."""

    def finished(self, line: RequestLog) -> None:
        blobs, doubles, indexes = data_point(line)
        point = to_js({"blobs": blobs, "doubles": doubles, "indexes": indexes}, dict_converter=js.Object.fromEntries)
        try:
            self._binding.writeDataPoint(point)
        except JsException as exc:  # a lost data point must never cost the client its answer
            log_event(_log, js.Date.now() / 1000, "analytics_write_failed", error=str(exc))

    def exposition(self, health: Iterable[tuple[str, str, bool | None]]) -> tuple[str, bytes]:
        raise NotImplementedError("Analytics Engine points are read with the SQL API (exposes is False)")


_background: set[asyncio.Future[Any]] = set()


def defer(work: Awaitable[Any]) -> None:
    """Run ``work`` past the response, under ``waitUntil`` of the request that asked."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(_retrieve)
    ctx = _request_ctx.get(None)
    if ctx is None:  # outside a request: keep the task alive ourselves
        _background.add(task)
        task.add_done_callback(_background.discard)
        return

    def executor(resolve: Any, _reject: Any) -> None:
        task.add_done_callback(lambda _done: resolve())

    # A real JS Promise, so waitUntil never holds a Python proxy that may be destroyed.
    ctx.waitUntil(js.Promise.new(create_once_callable(executor)))


def _retrieve(task: asyncio.Future[Any]) -> None:
    # Deferred work logs its own failures; reading the exception keeps asyncio quiet.
    if not task.cancelled():
        task.exception()


def _log(line: str) -> None:
    _natives().log(line)


def _raw_env(env: Any) -> Any:
    # The SDK wraps ``self.env`` in ``_EnvWrapper`` (raw object on ``_env``);
    # we read the raw JS object so vars can be enumerated.
    return env if isinstance(env, JsProxy) else getattr(env, "_env", env)


def build_platform(env: Any) -> tuple[Platform, dict[str, str]]:
    """The Platform and the string variables (vars and secrets) of a JS ``env``."""
    raw = _raw_env(env)
    variables: dict[str, str] = {}
    bindings: dict[str, Any] = {}
    for entry in js.Object.entries(raw):
        name, value = entry[0], entry[1]
        if isinstance(value, str):
            variables[name] = value
        elif name in (KV_BINDING, RATE_LIMIT_BINDING, ANALYTICS_BINDING) and not _absent(value):
            bindings[name] = value
    platform = Platform(
        fetch=upstream_fetch,
        clock=SystemClock(),
        log=_log,
        defer=defer,
        discard=discard,
        capture=capture,
        read=read,
        kv=JsKV(bindings[KV_BINDING]) if KV_BINDING in bindings else None,
        rate_limiter=JsRateLimiter(bindings[RATE_LIMIT_BINDING]) if RATE_LIMIT_BINDING in bindings else None,
        metrics=AnalyticsEngineMetrics(bindings[ANALYTICS_BINDING]) if ANALYTICS_BINDING in bindings else None,
        # workerd wakes a waiting request only from its own context (HealthMonitor._join).
        shared_waits=False,
    )
    return platform, variables


def request_view(request: Any) -> Request:
    """The core's view of the raw JS ``Request`` workerd hands ``on_fetch``."""
    headers = _header_fields(request.headers)
    body = request.body
    return Request(
        method=request.method,
        url=request.url,
        headers=headers,
        body=None if _absent(body) else body,
        client_ip=headers.get("cf-connecting-ip"),
    )


def js_response(response: Response) -> Any:
    """A JS ``Response`` from the core's answer (the body is not copied unless it is bytes)."""
    fields: dict[str, Any] = {"status": response.status, "headers": _headers_init(response.headers)}
    if response.reason:
        fields["statusText"] = response.reason
    body = None if response.body is None or response.status in _NULL_BODY_STATUSES else _js_body(response.body)
    return _natives().response.new(body, _js_init(fields))


#: (JS env, its gateway's handler) for each env object seen, newest first.
_built: list[tuple[Any, Handler]] = []


def _handler_for(build: BuildGateway, env: Any) -> Handler:
    raw = _raw_env(env)
    for known, handler in _built:
        if _natives().object_is(known, raw):
            return handler
    platform, variables = build_platform(raw)
    handle: Handler = build(variables, platform).handle
    _built.insert(0, (raw, handle))
    del _built[4:]
    return handle


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
    handle = _handler_for(build, env)
    token = _request_ctx.set(ctx)
    try:
        response = await handle(request_view(request))
    finally:
        _request_ctx.reset(token)
    return js_response(response)
