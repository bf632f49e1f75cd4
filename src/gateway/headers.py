"""Header rules: what a proxy must drop, what it adds, and a plain header map.

Hop-by-hop fields are meaningful for one connection only and must not be
forwarded (RFC 9110 §7.6.1), together with every field the ``Connection``
header names. ``Proxy-Authenticate``/``Proxy-Authorization`` are hop-by-hop
too (RFC 9110 §11.7). ``X-Forwarded-*`` follow the de facto convention that
RFC 7239 standardised as ``Forwarded``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, KeysView

from .runtime import Headers

HOP_BY_HOP: frozenset[str] = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

#: An ``x-request-id`` we accept from a client and pass on unchanged.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def strip_hop_by_hop(headers: Headers) -> None:
    """Remove hop-by-hop fields and every field ``Connection`` lists, in place."""
    listed = headers.get("connection")
    if listed:
        for name in listed.split(","):
            name = name.strip().lower()
            if name:
                headers.delete(name)
    # Usually none is present: one set intersection instead of nine deletes.
    for name in HOP_BY_HOP.intersection(headers.names()):
        headers.delete(name)


def request_id(incoming: str | None) -> str:
    """Keep a well-formed incoming request id, else make a fresh one."""
    if incoming is not None and REQUEST_ID.fullmatch(incoming):
        return incoming
    return os.urandom(16).hex()


class HeaderMap:
    """A case-insensitive multi-map implementing ``runtime.Headers``.

    Used by the CPython runtime and by unit tests. Fields are grouped by
    lower-case name in first-seen order, values in arrival order; ``get``
    joins repeated fields with ``", "`` as the Fetch standard does
    (``set-cookie`` aside, which callers read through ``items``).
    """

    __slots__ = ("_fields",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        fields: dict[str, list[str]] = {}
        for name, value in items:
            name = name.lower()
            values = fields.get(name)
            if values is None:
                fields[name] = [value]
            else:
                values.append(value)
        self._fields = fields

    def get(self, name: str) -> str | None:
        values = self._fields.get(name.lower())
        if values is None:
            return None
        return values[0] if len(values) == 1 else ", ".join(values)

    def set(self, name: str, value: str) -> None:
        self._fields[name.lower()] = [value]

    def append(self, name: str, value: str) -> None:
        self._fields.setdefault(name.lower(), []).append(value)

    def delete(self, name: str) -> None:
        self._fields.pop(name.lower(), None)

    def has(self, name: str) -> bool:
        return name.lower() in self._fields

    def items(self) -> Iterator[tuple[str, str]]:
        return iter([(name, value) for name, values in self._fields.items() for value in values])

    def names(self) -> KeysView[str]:
        return self._fields.keys()

    def copy(self) -> HeaderMap:
        clone = HeaderMap()
        clone._fields = {name: list(values) for name, values in self._fields.items()}
        return clone

    def __repr__(self) -> str:
        return f"HeaderMap({list(self.items())!r})"
