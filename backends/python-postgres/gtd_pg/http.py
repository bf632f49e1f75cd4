"""Request and response plumbing shared by the routers: JSON bodies with the
contract's 415/413/400 rules, URLSearchParams-style query parsing, JSON
responses with the headers every response carries, and JSON log lines."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import Response

from .errors import ApiError
from .jsonparse import loads_flat, loads_iterative
from .validation import JS_WHITESPACE, WS_CLASS

MAX_BODY_BYTES = 1_048_576
#: POST /import only (contract v2 §7): a whole export of a large store.
MAX_IMPORT_BYTES = 32 * 1_048_576

# application/json, application/*+json, optional parameters: /^application\/([\w.+-]+\+)?json\s*(;|$)/i
# with JavaScript's \w (ASCII only) and \s.
JSON_TYPE_RE = re.compile(rf"application/([A-Za-z0-9_.+-]+\+)?json[{WS_CLASS}]*(;|\Z)", re.IGNORECASE)
JSON_HEADERS = {"content-type": "application/json; charset=utf-8", "cache-control": "no-store"}


def log(level: str, message: str, extra: dict[str, Any] | None = None) -> None:
    """One JSON line per log entry on stderr (the shape the other backends use)."""
    entry = {"time": now_iso(), "level": level, "message": message, **(extra or {})}
    print(json.dumps(entry, default=str), file=sys.stderr, flush=True)


def now_iso() -> str:
    """Current time as RFC 3339 UTC with milliseconds, like JavaScript's toISOString()."""
    return format_iso(datetime.now(UTC))


def format_iso(moment: datetime) -> str:
    """An aware datetime as RFC 3339 UTC with milliseconds (the form every timestamp has)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime:
    """The inverse of format_iso."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def dumps(body: Any) -> bytes:
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (only ever echoed from input, e.g. an unknown key): escape it, as
        # JSON.stringify does, instead of failing.
        return json.dumps(body, separators=(",", ":")).encode("ascii")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(None, status_code=status, headers={"cache-control": "no-store", **(headers or {})})


def error_response(err: ApiError) -> Response:
    return json_response(err.status, err.body(), err.headers)


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"request body must be at most {max_bytes} bytes")


async def read_json(request: Request) -> Any:
    """The JSON body: 415 for a non-JSON Content-Type, 413 if too large, 400 if unparseable."""
    return await parse_json(await read_body(request))


async def read_body(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The raw body bytes: 415 for a non-JSON Content-Type, 413 if over `max_bytes`."""
    content_types = request.headers.getlist("content-type")
    if content_types:
        content_type = ", ".join(content_types)
        if not JSON_TYPE_RE.match(content_type):
            raise ApiError(415, "unsupported_media_type", "request body must be application/json")
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_json(data: bytes) -> Any:
    """Body bytes as JSON: 400 if empty, not UTF-8 or not parseable."""
    try:
        text = data.decode("utf-8-sig")  # like TextDecoder("utf-8", {fatal: true}): a leading BOM is dropped
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "request body is not valid UTF-8") from None
    if text.strip(JS_WHITESPACE) == "":  # JavaScript's trim()
        raise ApiError(400, "invalid_json", "request body is empty")
    try:
        try:
            return loads_flat(text)
        except RecursionError:
            # Well-formed but deeper than the C scanner goes: parse it off the event loop.
            return await asyncio.to_thread(loads_iterative, text)
    except ValueError:
        raise ApiError(400, "invalid_json", "request body is not valid JSON") from None


def query_pairs(raw: bytes) -> list[tuple[str, str]]:
    """application/x-www-form-urlencoded parsing as URLSearchParams does it."""
    pairs: list[tuple[str, str]] = []
    if not raw:
        return pairs
    for part in raw.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        pairs.append((_form_decode(name), _form_decode(value)))
    return pairs


def _form_decode(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", errors="replace")
