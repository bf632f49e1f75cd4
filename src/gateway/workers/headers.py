"""Header fields across the boundary, as one string each way.

A JS ``Headers`` is read with one ``JSON.stringify`` of its fields into a ``FetchHeaders``
(a dict built by ``json.loads`` and ``dict()``, no Python step per field), and the outgoing
request's and the answer's are written in one ``JSON.parse`` of their init object
(:func:`~gateway.workers.natives.js_init`), the dict handed to ``json.dumps`` as it is. Each
FFI call costs workerd more than the Python work it would save (docs/benchmarks.md, "Header cost").
"""

from __future__ import annotations

import json
from typing import Any

from ..headers import FetchHeaders
from ..runtime import Headers
from .natives import natives

__all__ = ["header_fields", "headers_init"]


def header_fields(js_headers: Any) -> FetchHeaders:
    """A JS ``Headers`` read into the core's map as one JSON string (two FFI calls in all).

    Iterating the JS object gives each field as the runtime holds it (the SDK's conversion
    to ``http.client.HTTPMessage`` split values on commas, workerd#5915). One string and
    ``json.loads`` make no proxy per field (``to_py`` of the array does), and the map is then
    built by ``dict()`` alone: ~1.3 µs per header on workerd (docs/benchmarks.md, "Header cost").
    """
    bound = natives()
    return FetchHeaders.from_pairs(json.loads(bound.stringify(bound.array_from(js_headers))))


def headers_init(headers: Headers) -> dict[str, str] | list[tuple[str, str]]:
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
