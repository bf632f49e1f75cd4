"""Every way a request can fail, as exceptions that render themselves.

    GatewayError                     (status, code) → {"error": {...}}
     ├── ClientError                 4xx: the caller can fix it
     │    ├── InvalidRequest         400 bad_request
     │    ├── InvalidBackend         400 invalid_backend
     │    ├── UnknownBackend         400 unknown_backend
     │    ├── InvalidLocation        400 invalid_location
     │    ├── LocationUnavailable    400 location_unavailable
     │    ├── Unauthorized           401 unauthorized
     │    ├── OriginNotAllowed       403 origin_not_allowed (a CORS preflight)
     │    ├── NotFound               404 not_found        (/_gateway/* only)
     │    ├── MethodNotAllowed       405 method_not_allowed
     │    ├── RequestTimeout         408 request_timeout  (twin: a stalled body)
     │    ├── PayloadTooLarge        413 payload_too_large
     │    ├── RateLimited            429 rate_limited
     │    └── HeadersTooLarge        431 headers_too_large
     └── ServerError                 5xx: the gateway or a backend is at fault
          ├── Misconfigured          500 misconfigured
          ├── BadGateway             502 bad_gateway
          ├── BackendUnavailable     503 backend_unavailable
          ├── BackendUnhealthy       503 backend_unhealthy
          ├── RegistryUnavailable    503 registry_unavailable
          └── UpstreamTimeout        504 upstream_timeout

    UpstreamError                    raised by a runtime's fetch, never rendered as is
     ├── UpstreamConnectError        → 503 backend_unavailable
     ├── UpstreamProtocolError       → 502 bad_gateway
     └── ClientFault                 → its ``error`` (the client's body failed: 408/413;
                                       a request the Worker's fetch refuses to send: 400)

A runtime's fetch raises only :class:`UpstreamError` subclasses (the seam's
contract, ``gateway.runtime.UpstreamFetch``); ``gateway.proxy`` maps them to
the answers above in one place. No message ever carries a backend URL or a
traceback: messages are written here or from validated ids only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable


class GatewayError(Exception):
    """A failure that becomes one JSON error response."""

    status: int = 500
    code: str = "internal_error"
    default_message: str = "Internal error"

    def __init__(self, message: str | None = None, *, headers: Iterable[tuple[str, str]] = ()) -> None:
        self.message = message or self.default_message
        self.extra_headers = tuple(headers)
        super().__init__(self.message)

    def body(self, request_id: str) -> bytes:
        """The JSON body: ``{"error": {"code", "message", "request_id"}}``."""
        return json.dumps(
            {"error": {"code": self.code, "message": self.message, "request_id": request_id}},
            separators=(",", ":"),
        ).encode()


class ClientError(GatewayError):
    status = 400


class InvalidRequest(ClientError):
    code = "bad_request"
    default_message = "Malformed request"


class InvalidBackend(ClientError):
    code = "invalid_backend"
    default_message = "x-backend must match ^[a-z0-9][a-z0-9-]{0,62}$"


class UnknownBackend(ClientError):
    code = "unknown_backend"

    def __init__(self, backend_id: str) -> None:
        super().__init__(f"Unknown backend: {backend_id}")


class InvalidLocation(ClientError):
    code = "invalid_location"
    default_message = "x-backend-location must be 'local' or 'cloud'"


class LocationUnavailable(ClientError):
    code = "location_unavailable"


class Unauthorized(ClientError):
    status = 401
    code = "unauthorized"
    default_message = "A valid API key is required"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers=[("www-authenticate", 'Bearer realm="gateway"')])


class OriginNotAllowed(ClientError):
    status = 403
    code = "origin_not_allowed"
    default_message = "This origin may not call the gateway"


class NotFound(ClientError):
    status = 404
    code = "not_found"
    default_message = "No such gateway endpoint"


class MethodNotAllowed(ClientError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, allowed: str) -> None:
        super().__init__(f"Allowed methods: {allowed}", headers=[("allow", allowed)])


class RequestTimeout(ClientError):
    status = 408
    code = "request_timeout"
    default_message = "The request body stalled"


class PayloadTooLarge(ClientError):
    status = 413
    code = "payload_too_large"
    default_message = "Request body is too large"


class RateLimited(ClientError):
    status = 429
    code = "rate_limited"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("Too many requests", headers=[("retry-after", str(retry_after_s))])


class HeadersTooLarge(ClientError):
    status = 431
    code = "headers_too_large"
    default_message = "Request headers are too large"


class ServerError(GatewayError):
    status = 500


class Misconfigured(ServerError):
    code = "misconfigured"


class BadGateway(ServerError):
    status = 502
    code = "bad_gateway"
    default_message = "The backend sent an invalid response"


class BackendUnavailable(ServerError):
    status = 503
    code = "backend_unavailable"

    def __init__(self, backend_id: str) -> None:
        super().__init__(f"Backend {backend_id} is unreachable")


class BackendUnhealthy(ServerError):
    status = 503
    code = "backend_unhealthy"

    def __init__(self, backend_id: str) -> None:
        super().__init__(f"Backend {backend_id} is unhealthy")


class RegistryUnavailable(ServerError):
    status = 503
    code = "registry_unavailable"
    default_message = "The backend registry cannot be read"


class UpstreamTimeout(ServerError):
    status = 504
    code = "upstream_timeout"

    def __init__(self, backend_id: str) -> None:
        super().__init__(f"Backend {backend_id} did not answer in time")


class UpstreamError(Exception):
    """Raised by a runtime's fetch; never rendered directly (see ``gateway.proxy``)."""


class UpstreamConnectError(UpstreamError):
    """Connection refused, reset, or the name did not resolve."""


class UpstreamProtocolError(UpstreamError):
    """The upstream answered something that is not valid HTTP."""


class UpstreamTimeoutError(UpstreamError):
    """No response head arrived within the deadline the core gave the fetch."""


class ClientFault(UpstreamError):
    """The exchange failed because of the client, not the backend.

    The twin streams a client's body into the upstream request as it
    arrives; when that body stalls (408) or outgrows ``MAX_BODY_BYTES``
    (413) the outbound request is aborted and this carries the answer the
    client gets, so the backend is not blamed for it.
    """

    def __init__(self, error: ClientError) -> None:
        self.error = error
        super().__init__(error.code)


#: How ``fetch`` refuses a GET or HEAD request with a body, before sending anything:
#: workerd ("Request with a GET or HEAD method cannot have a body.") and undici
#: ("Request with GET/HEAD method cannot have body.").
_BODY_ON_GET_MARKERS = ("method cannot have a body", "method cannot have body")


def unsendable_request(error_text: str) -> ClientError | None:
    """The client's error when a runtime's ``fetch`` refused to send its request, else None.

    The twin forwards a body on GET or HEAD; a Worker's ``fetch`` cannot, and says so with a
    ``TypeError``. That is the request's shape, not the backend failing: ``400 bad_request``,
    and the backend is not marked unhealthy (it was never contacted).
    """
    text = error_text.lower()
    if any(marker in text for marker in _BODY_ON_GET_MARKERS):
        return InvalidRequest("A GET or HEAD request with a body cannot be forwarded by this gateway")
    return None
