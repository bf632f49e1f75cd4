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
from collections.abc import Iterable, Iterator, KeysView, Mapping

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

#: What ``UNDERSCORE_HEADERS`` may say about a request field whose name has an underscore
#: (``Transfer_Encoding``): ``drop`` it (nginx's default, ``underscores_in_headers off``),
#: ``reject`` the request (400), or ``allow`` it through (Envoy's default). Many backends fold
#: ``_`` into ``-`` (CGI, WSGI, PHP, Rack): to them the look-alike *is* the framing or
#: identity field the gateway checked under its real name (docs/hardening.md).
UNDERSCORE_ACTIONS = ("drop", "reject", "allow")

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


def underscored_names(headers: Headers) -> list[str]:
    """The field names in ``headers`` that contain ``_``; usually none, found by one scan in C."""
    names = headers.names()
    if "_" not in "".join(names):
        return []
    return [name for name in names if "_" in name]


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


#: The one field the Fetch standard never combines into one value (RFC 6265 §3).
SET_COOKIE = "set-cookie"


class FetchHeaders:
    """``runtime.Headers`` shaped like a Fetch ``Headers``: one combined value per name.

    The Worker's map. A JS ``Headers`` already holds each name once, lower-case, its
    values joined with ``", "``, except ``set-cookie``, whose values it yields one by one.
    Kept that way in one ``dict`` (``set-cookie`` values in a list of their own), a map is
    built, copied, searched and written out by C code (``dict(pairs)``, ``dict.copy``,
    ``json.dumps``) instead of a Python loop per field: in Pyodide each Python-level step is
    paid again for every header a client or an upstream sent (docs/benchmarks.md, "Header
    cost"). ``append`` joins at once, which is what the JS side would do with it.
    """

    __slots__ = ("_cookies", "_values")

    def __init__(self, values: Mapping[str, str] | None = None, cookies: Iterable[str] = ()) -> None:
        """``values``: lower-case name → combined value; ``cookies``: the ``set-cookie`` values."""
        self._values: dict[str, str] = dict(values) if values else {}
        self._cookies: list[str] = list(cookies)

    @classmethod
    def from_pairs(cls, pairs: list[list[str]]) -> FetchHeaders:
        """The map of a JS ``Headers``' iteration (lower-case names, ``set-cookie`` repeated)."""
        headers = cls()
        values = dict(pairs)  # each pair is a [name, value] list, as JSON gives them
        if len(values) != len(pairs):  # only set-cookie repeats in a Headers' iteration
            headers._cookies = [value for name, value in pairs if name == SET_COOKIE]
            values.pop(SET_COOKIE, None)
        headers._values = values
        return headers

    def get(self, name: str) -> str | None:
        name = name.lower()
        if name == SET_COOKIE and self._cookies:
            return ", ".join(self._cookies)
        return self._values.get(name)

    def set(self, name: str, value: str) -> None:
        name = name.lower()
        if name == SET_COOKIE:
            self._cookies = [value]
            self._values.pop(name, None)
        else:
            self._values[name] = value

    def append(self, name: str, value: str) -> None:
        name = name.lower()
        if name == SET_COOKIE:
            if name in self._values:
                self._cookies.insert(0, self._values.pop(name))
            self._cookies.append(value)
            return
        previous = self._values.get(name)
        self._values[name] = value if previous is None else f"{previous}, {value}"

    def delete(self, name: str) -> None:
        name = name.lower()
        self._values.pop(name, None)
        if name == SET_COOKIE:
            self._cookies = []

    def has(self, name: str) -> bool:
        name = name.lower()
        return name in self._values or (name == SET_COOKIE and bool(self._cookies))

    def items(self) -> Iterator[tuple[str, str]]:
        yield from self._values.items()
        for cookie in self._cookies:
            yield SET_COOKIE, cookie

    def names(self) -> Iterable[str]:
        if self._cookies:
            return {*self._values, SET_COOKIE}
        return self._values.keys()

    def copy(self) -> FetchHeaders:
        clone = FetchHeaders()
        clone._values = self._values.copy()
        clone._cookies = self._cookies.copy()
        return clone

    def init(self) -> dict[str, str] | list[tuple[str, str]]:
        """The fields as a JSON ``HeadersInit``: the record itself, or pairs when cookies repeat.

        workerd builds its ``Headers`` from a record in half the time pairs take; only
        several ``set-cookie`` values need the pairs.
        """
        if len(self._cookies) <= 1:
            if not self._cookies:
                return self._values
            return {**self._values, SET_COOKIE: self._cookies[0]}
        return list(self.items())

    def __repr__(self) -> str:
        return f"FetchHeaders({list(self.items())!r})"
