"""The bytes of an answer's head, and the JSON errors the twin answers before the core sees a request."""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus

from gateway.errors import GatewayError
from gateway.headers import HeaderMap, request_id
from gateway.runtime import Headers, Response

REASONS = {status.value: status.phrase for status in HTTPStatus}
#: Statuses whose answer has no body (RFC 9110 §15.3.5, §15.4.5).
NO_BODY_STATUSES = frozenset({204, 304})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_date: tuple[int, str] = (0, "")


def http_date() -> str:
    """RFC 9110 §5.6.7 IMF-fixdate of now, formatted once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True))
    return _date[1]


def response_head(status: int, reason: str, headers: Headers, keep: bool, version: str) -> bytes:
    """The answer's status line and fields as bytes, with ``date`` and ``connection`` added as owed."""
    lines = [f"HTTP/1.1 {status} {reason or REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if not headers.has("date"):  # an origin's answer must carry one (RFC 9110 §6.6.1); upstreams send theirs
        lines.append("date: " + http_date())
    if not keep:
        lines.append("connection: close")
    elif version == "1.0":
        lines.append("connection: keep-alive")
    text = "\r\n".join(lines)
    # A CR or LF inside a value would let it forge headers or a second answer.
    if text.count("\n") != len(lines) - 1 or text.count("\r") != len(lines) - 1:
        return error_bytes(GatewayError())
    text += "\r\n\r\n"
    try:
        return text.encode("latin-1")  # round-trips what the upstream client decoded as latin-1
    except UnicodeEncodeError:
        return text.encode("utf-8")  # a configured value outside latin-1


def error_response(error: GatewayError) -> Response:
    """The gateway's JSON error as a Response (an answer the twin gives without the core)."""
    rid = request_id(None)
    headers = HeaderMap([("content-type", "application/json"), ("x-request-id", rid)])
    return Response(error.status, headers, error.body(rid))


def error_bytes(error: GatewayError) -> bytes:
    """The gateway's JSON error, for answers the twin gives before the core sees a request."""
    rid = request_id(None)
    body = error.body(rid)
    head = (
        f"HTTP/1.1 {error.status} {REASONS.get(error.status, 'Error')}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nx-request-id: {rid}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body
