"""Keyset paging (contract v2 §3): a cursor names the last item of a page by its position
in list order, (created_at, seq), so rows created or deleted meanwhile neither repeat nor
skip items. The encoding is this backend's own: base64url (unpadded) of `created_at|seq`,
like backends/shared/src/paging.ts.

    cursor = encode_cursor(Position("2026-01-01T00:00:00.000Z", 7))
    decode_cursor(cursor)   # the same Position, or None for anything we did not write
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NamedTuple

__all__ = ["Position", "decode_cursor", "encode_cursor"]

_BASE64URL_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_POSITION_RE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([1-9][0-9]{0,14})")


class Position(NamedTuple):
    created_at: str
    seq: int


def encode_cursor(position: Position) -> str:
    raw = f"{position.created_at}|{position.seq}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Position | None:
    """The position a cursor names, or None when it is not one we could have written."""
    if not _BASE64URL_RE.fullmatch(cursor):
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    m = _POSITION_RE.fullmatch(text)
    if m is None:
        return None
    position = Position(m[1], int(m[2]))
    # Round trip: only the canonical spelling of a position is accepted.
    return position if encode_cursor(position) == cursor else None
