"""A stand-in ``js`` and ``pyodide.ffi`` so ``gateway.workers`` imports under CPython.

The real adapter runs in Pyodide (tests/behaviour runs it on workerd and in the Node harness);
these tests check its own logic (error mapping, header conversion, bindings, the drive of
``serve_now``) against plain Python objects shaped like the JS ones it calls. Installed when
this package is collected, before any test imports ``gateway.workers``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest


class JsException(Exception):
    """pyodide.ffi.JsException: a JS error with its ``name``, ``message`` and maybe ``cause``."""

    def __init__(self, message: str = "", name: str = "Error", cause: Any = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        if cause is not None:
            self.cause = cause


class JsProxy:
    """pyodide.ffi.JsProxy: what every JS object is in Python."""


class JsObject(JsProxy, SimpleNamespace):
    """A plain JS object (``Object.new()``, ``JSON.parse`` of an object)."""


class JsHeaders(JsProxy):
    """A JS ``Headers``: its iteration is the (lower-case name, value) pairs."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs


#: JS ``null`` as Pyodide ≥ 0.26 hands it over.
JSNULL = SimpleNamespace(name="jsnull")
LOGGED: list[str] = []


def _install() -> None:
    js = ModuleType("js")
    js.Object = SimpleNamespace(  # type: ignore[attr-defined]
        new=JsObject,
        entries=lambda obj: [[name, value] for name, value in vars(obj).items()],
        is_=lambda a, b: a is b,
        fromEntries=dict,
    )
    js.Array = SimpleNamespace(from_=lambda headers: [list(pair) for pair in headers.pairs])  # type: ignore[attr-defined]
    js.JSON = SimpleNamespace(stringify=json.dumps, parse=lambda text: JsObject(**json.loads(text)))  # type: ignore[attr-defined]
    js.Response = SimpleNamespace(new=lambda body, init: SimpleNamespace(body=body, init=init))  # type: ignore[attr-defined]
    js.console = SimpleNamespace(log=LOGGED.append)  # type: ignore[attr-defined]
    js.Date = SimpleNamespace(now=lambda: 1_700_000_000_000)  # type: ignore[attr-defined]
    js.Promise = SimpleNamespace(new=lambda executor: SimpleNamespace(executor=executor))  # type: ignore[attr-defined]
    for name in ("fetch", "AbortController", "setTimeout", "clearTimeout", "TransformStream"):
        setattr(js, name, SimpleNamespace(name=name))
    ffi = ModuleType("pyodide.ffi")
    ffi.JsException = JsException  # type: ignore[attr-defined]
    ffi.JsProxy = JsProxy  # type: ignore[attr-defined]
    ffi.jsnull = JSNULL  # type: ignore[attr-defined]
    ffi.create_once_callable = lambda function: function  # type: ignore[attr-defined]
    ffi.to_js = lambda value, dict_converter=None: value  # type: ignore[attr-defined]
    pyodide = ModuleType("pyodide")
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    sys.modules.setdefault("js", js)
    sys.modules.setdefault("pyodide", pyodide)
    sys.modules.setdefault("pyodide.ffi", ffi)


_install()


@pytest.fixture(autouse=True)
def fresh_natives() -> Iterator[None]:
    """Each test binds the JS globals anew (``natives()`` caches them for the isolate's life)."""
    from gateway.workers import natives

    natives._bound = None
    LOGGED.clear()
    yield
    natives._bound = None
