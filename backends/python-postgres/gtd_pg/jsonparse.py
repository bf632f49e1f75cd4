"""JSON text to Python values with JSON.parse's acceptance rules, at any nesting depth.

`json.loads` (C scanner) does the work; it recurses, so a body nested deeper
than the interpreter's recursion limit (~1000) raises RecursionError although
it is well-formed. The contract wants such a body judged like any other (e.g.
`[[[...]]]` 200,000 deep is a 422 "not an object", not a 400), so the same text
is then parsed again by `loads_iterative`, an explicit-stack parser with the
same grammar and the same results (string escapes by json's own scanstring).

Differences from plain json.loads, to match JavaScript's JSON.parse:
- NaN, Infinity and -Infinity are not JSON (ValueError);
- every number is a float, as in JavaScript (no field takes a number, and an
  integer of more than 4300 digits must not be a parse error).
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

__all__ = ["loads", "loads_flat", "loads_iterative"]

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LITERALS = (("true", True), ("false", False), ("null", None))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_flat(text: str) -> Any:
    """Parse JSON text: ValueError when it is not JSON, RecursionError when it nests too deep
    for the C scanner (then use loads_iterative; the app runs that in a thread, since it can
    take a second or two for a 1 MiB body)."""
    return json.loads(text, parse_constant=_reject_constant, parse_int=float)


def loads(text: str) -> Any:
    """Parse JSON text at any depth; ValueError when it is not JSON."""
    try:
        return loads_flat(text)
    except RecursionError:
        return loads_iterative(text)


def loads_iterative(text: str) -> Any:
    """The same grammar and results as `loads`, without recursion (any depth)."""
    n = len(text)
    # Open containers, innermost last: [container, pending key (objects)].
    stack: list[list[Any]] = []
    idx = _WS.match(text, 0).end()  # type: ignore[union-attr]
    while True:
        # -- one value at idx ---------------------------------------------------------
        if idx >= n:
            raise ValueError("unexpected end of JSON")
        ch = text[idx]
        value: Any
        if ch == "{":
            idx = _WS.match(text, idx + 1).end()  # type: ignore[union-attr]
            if text.startswith("}", idx):
                value, idx = {}, idx + 1
            else:
                key, idx = _key(text, idx)
                stack.append([{}, key])
                continue
        elif ch == "[":
            idx = _WS.match(text, idx + 1).end()  # type: ignore[union-attr]
            if text.startswith("]", idx):
                value, idx = [], idx + 1
            else:
                stack.append([[], None])
                continue
        elif ch == '"':
            value, idx = scanstring(text, idx + 1, True)
        else:
            m = _NUMBER.match(text, idx)
            if m:
                value, idx = float(m.group()), m.end()
            else:
                for word, literal in _LITERALS:
                    if text.startswith(word, idx):
                        value, idx = literal, idx + len(word)
                        break
                else:
                    raise ValueError(f"unexpected character at {idx}")
        # -- attach it, closing every container that ends here ------------------------
        while True:
            idx = _WS.match(text, idx).end()  # type: ignore[union-attr]
            if not stack:
                if idx != n:
                    raise ValueError(f"extra data at {idx}")
                return value
            frame = stack[-1]
            container = frame[0]
            if isinstance(container, dict):
                container[frame[1]] = value
                close = "}"
            else:
                container.append(value)
                close = "]"
            if text.startswith(",", idx):
                idx = _WS.match(text, idx + 1).end()  # type: ignore[union-attr]
                if isinstance(container, dict):
                    frame[1], idx = _key(text, idx)
                break  # the next member's value
            if text.startswith(close, idx):
                stack.pop()
                value, idx = container, idx + 1
                continue
            raise ValueError(f"expected ',' or '{close}' at {idx}")


def _key(text: str, idx: int) -> tuple[str, int]:
    """`"key" :` at idx (whitespace skipped); returns the key and the index of its value."""
    if not text.startswith('"', idx):
        raise ValueError(f"expected a property name at {idx}")
    key, idx = scanstring(text, idx + 1, True)
    idx = _WS.match(text, idx).end()  # type: ignore[union-attr]
    if not text.startswith(":", idx):
        raise ValueError(f"expected ':' at {idx}")
    return key, _WS.match(text, idx + 1).end()  # type: ignore[union-attr]
