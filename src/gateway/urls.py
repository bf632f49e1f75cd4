"""Splitting the request URL a runtime hands the core.

The runtimes always give an absolute URL (``scheme://host/path?query``), so
a few ``str`` operations do what ``urllib.parse.urlsplit`` would, without its
import cost in a Worker's cold start or its work on every request.
"""

from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    scheme: str
    netloc: str
    path: str  # "/" when the URL has none; still percent-encoded
    query: str  # without the "?"; "" when absent


def split_url(url: str) -> Target:
    """Split an absolute URL; the fragment (never sent by clients) is dropped."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    rest = rest.partition("#")[0]
    end = len(rest)
    for mark in "/?":
        found = rest.find(mark)
        if found != -1 and found < end:
            end = found
    netloc, remainder = (rest[:end], rest[end:]) if sep else ("", rest)
    path, _, query = remainder.partition("?")
    return Target(scheme, netloc, path or "/", query)
