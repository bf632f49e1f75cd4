"""``runtime.UpstreamFetch`` over the global JS ``fetch`` (the twin's ``upstream_client``).

``fetch`` is called with ``redirect: "manual"``; JS errors become
``UpstreamConnectError``/``UpstreamProtocolError`` here and nowhere else. Its deadline is a
JS timer on our own ``AbortController``, cleared when ``fetch`` settles
(``AbortSignal.timeout`` on concurrent fetches wedged isolates, workerd#6624).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pyodide.ffi import JsException, JsProxy

from ..errors import (
    ClientFault,
    InvalidRequest,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeoutError,
    unsendable_request,
)
from ..runtime import Body, Headers, Response
from .bodies import ClientBody
from .headers import header_fields, headers_init
from .natives import NULL_BODY_STATUSES, absent, can_run_sync, js_body, js_init, natives, options, run_sync

__all__ = ["upstream_error", "upstream_fetch"]

#: Error text of a reply that was not HTTP: undici's llhttp codes, workerd's parser.
_PROTOCOL_MARKERS = ("hpe_", "parse error", "invalid http", "malformed", "und_err_info")

#: workerd's one text for a subrequest that failed before a response: refused, reset, closed
#: early *and* answered with bytes that are not HTTP all reject with
#: ``Error: Network connection lost.`` (the reason, e.g. hyper's "invalid HTTP version parsed",
#: stays in workerd's own log). A TCP connect to the upstream tells them apart (``_listening``).
_WORKERD_LOST = "network connection lost"


async def upstream_error(exc: JsException, url: str) -> Exception:
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
        socket = connect(options(hostname=parts.hostname or "", port=port))
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
    if absent(cause):
        return ""
    return " ".join(str(getattr(cause, field, "")) for field in ("code", "message"))


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

    A client body stream goes through :class:`ClientBody`, so a body that failed on the
    client's side is ``ClientFault(InvalidRequest)`` (400), not the upstream's 502/503.
    Bodiless requests and the gateway's own bytes are sent as they are.

    The deadline is a JS timer that aborts the subrequest through its ``AbortController``
    and is cleared once ``fetch`` settles: no Python callback, nothing left armed (an
    ``asyncio`` timer cancelled in Pyodide's WebLoop stays scheduled, its callback and
    everything it references kept until the request's context is torn down).
    """
    bound = natives()
    controller = bound.abort_controller.new()
    init = js_init({"method": method, "headers": headers_init(headers), "redirect": "manual"})
    init.signal = controller.signal
    timer = None
    if timeout_s is not None:
        timer = bound.set_timeout(controller.abort.bind(controller), timeout_s * 1000)
    client_body = None
    if body is not None:
        if isinstance(body, JsProxy):
            client_body = ClientBody(body, controller, _declared_length(headers))
            init.body = client_body.readable
        else:
            init.body = js_body(body)
        # Needed by the Fetch standard for a stream body; workerd ignores it.
        init.duplex = "half"
    try:
        pending = bound.fetch(url, init)
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
        raise await upstream_error(exc, url) from None
    finally:
        if timer is not None:
            bound.clear_timeout(timer)
        if client_body is not None:
            client_body.settle()
    status = int(response.status)
    stream = response.body
    if absent(stream) or status in NULL_BODY_STATUSES:
        stream = None
    # Read once into the core's map: the fetched response's own are immutable anyway.
    return Response(status, header_fields(response.headers), stream, response.statusText or "")
