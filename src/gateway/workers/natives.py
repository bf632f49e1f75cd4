"""The JS globals and Pyodide helpers every part of the Worker adapter uses.

The one place the package reaches ``js`` for the per-request path: each global is looked
up once (:class:`Natives`), and the small conversions that cross the boundary live here
(``JSON.parse`` of an init object, a JS options object, a body JS accepts).
"""

from __future__ import annotations

import json
from typing import Any

import js
from pyodide.ffi import to_js

from ..runtime import Body

try:  # Pyodide ≥ 0.26 turns JS null into ``jsnull``, older ones into None
    from pyodide.ffi import jsnull
except ImportError:  # pragma: no cover
    jsnull = None

try:  # JSPI's synchronous wait for a promise (Pyodide ≥ 0.27; see serve.serve_now)
    from pyodide.ffi import can_run_sync, run_sync
except ImportError:  # pragma: no cover

    def can_run_sync() -> bool:
        return False

    def run_sync(x: Any) -> Any:
        raise NotImplementedError


__all__ = [
    "NULL_BODY_STATUSES",
    "Natives",
    "absent",
    "can_run_sync",
    "js_body",
    "js_init",
    "log",
    "natives",
    "options",
    "run_sync",
]

#: Statuses whose response must not carry a body (Fetch standard, "null body status").
NULL_BODY_STATUSES = frozenset({101, 103, 204, 205, 304})


def absent(value: Any) -> bool:
    """True for JS ``null``/``undefined`` as Pyodide hands them over."""
    return value is None or value is jsnull


class Natives:
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


_bound: Natives | None = None


def natives() -> Natives:
    """The bound :class:`Natives`, made at the first call."""
    global _bound
    if _bound is None:
        _bound = Natives()
    return _bound


def js_init(fields: dict[str, Any]) -> Any:
    """A JS init object (``RequestInit``/``ResponseInit``) built by one ``JSON.parse``.

    One call and one string cross the boundary instead of an object set field by field
    and a ``Headers`` edited name by name.
    """
    return natives().parse(json.dumps(fields, separators=(",", ":")))


def js_body(body: Body) -> Any:
    """A body JS accepts: streams pass through, the gateway's own bytes are copied once."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return to_js(bytes(body))
    return body


def options(**fields: Any) -> Any:
    """A plain JS object with ``fields`` (the options argument of a JS API)."""
    result = js.Object.new()
    for name, value in fields.items():
        setattr(result, name, value)
    return result


def log(line: str) -> None:
    """``Platform.log``: one line to ``console.log`` (workerd's log stream)."""
    natives().log(line)
