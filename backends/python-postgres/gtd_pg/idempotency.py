"""The Idempotency-Key header (IETF httpapi draft "The Idempotency-Key HTTP Header
Field") on the POSTs that create: the key's syntax, the request fingerprint and the
replayed answer. The same rules as backends/shared/src/idempotency.ts; the SQL is in
gtd_pg.store (the key is stored in the transaction that inserts the row).

    async def create_task(request: Request) -> Response:
        return await create_once(request, store, lambda body, idempotency: ...)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .http import JSON_HEADERS, json_response, parse_json, read_body

if TYPE_CHECKING:
    from .store import Store

#: A stored answer replays for this long after the key's first use (a replay does not extend it).
TTL = timedelta(hours=24)

# 1-255 visible ASCII characters (0x21-0x7E); the draft's sf-string form wraps them in quotes.
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
_QUOTED_RE = re.compile(r'"([^"]*)"')


@dataclass(frozen=True)
class IdempotentWrite:
    """The key and request fingerprint a create stores along with its row."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class StoredAnswer:
    """What the first successful request with a key answered."""

    fingerprint: str
    status: int
    body: str


def parse_key(values: list[str]) -> str | None:
    """The key from the header's values, None when it is absent; 400 when malformed or repeated.

    Starlette decodes header bytes as Latin-1, so a non-ASCII byte is a character above
    0x7E here and fails the pattern like any other.
    """
    if not values:
        return None
    if len(values) > 1:
        raise _invalid_key()
    raw = values[0]
    quoted = _QUOTED_RE.fullmatch(raw)
    key = quoted[1] if quoted else raw
    if not _KEY_RE.fullmatch(key):
        raise _invalid_key()
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Lowercase hex SHA-256 of `METHOD path\\n` followed by the raw body bytes."""
    return hashlib.sha256(f"{method} {path}\n".encode() + body).hexdigest()


def replay(stored: StoredAnswer, request_fingerprint: str, path: str) -> Response:
    """The stored answer again, marked as a replay; 422 when the key was used for a different request.

    `path` is the collection the resource was created in, for the Location of a 201.
    """
    if stored.fingerprint != request_fingerprint:
        raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was already used for a different request")
    headers = {**JSON_HEADERS, "idempotent-replayed": "true"}
    if stored.status == 201:
        headers["location"] = f"{path}/{json.loads(stored.body)['id']}"
    return Response(stored.body.encode("utf-8"), status_code=stored.status, headers=headers)


Create = Callable[[Any, "IdempotentWrite | None"], Awaitable[dict[str, Any]]]


async def create_once(request: Request, store: Store, create: Create) -> Response:
    """A POST that creates, at most once per Idempotency-Key.

    The key is checked before the body (400); a stored key answers the stored response
    (or 422 for a different request); a new key is stored by `create` (given the parsed
    body and the IdempotentWrite, or None without a key) together with its row. When that
    write fails because a concurrent request stored the key first, this request answers
    with the stored response too.
    """
    key = parse_key(request.headers.getlist("idempotency-key"))
    body = await read_body(request)
    path = request.url.path
    if key is None:
        return _created(path, await create(await parse_json(body), None))
    request_fingerprint = fingerprint(request.method, path, body)
    stored = await store.find_idempotency_key(key)
    if stored is not None:
        return replay(stored, request_fingerprint, path)
    try:
        resource = await create(await parse_json(body), IdempotentWrite(key, request_fingerprint))
    except asyncpg.UniqueViolationError:
        winner = await store.find_idempotency_key(key)
        if winner is None:
            raise
        return replay(winner, request_fingerprint, path)
    return _created(path, resource)


def _created(path: str, resource: dict[str, Any]) -> Response:
    return json_response(201, resource, {"location": f"{path}/{resource['id']}"})


def _invalid_key() -> ApiError:
    return ApiError(
        400,
        "invalid_idempotency_key",
        "Idempotency-Key must be 1-255 visible ASCII characters, optionally in double quotes, sent once",
    )
