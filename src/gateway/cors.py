"""CORS for browsers calling the gateway (Fetch standard, "CORS protocol").

The allow-list comes from ``CORS_ALLOW_ORIGINS`` (comma list, or ``*``).
Preflights are answered here, before authentication, and never reach a
backend. An origin that is not listed is never reflected.
"""

from __future__ import annotations

from .errors import OriginNotAllowed
from .runtime import Headers
from .settings import Settings

ALLOW_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = (
    "authorization, content-type, idempotency-key, x-api-key, x-backend, x-backend-location, x-backend-shadow,"
    " x-request-id"
)
#: What a browser script may read of an answer: the request id, which backend served it, the timing split,
#: whether a POST was a replay of an earlier one with the same Idempotency-Key, and the task a completed
#: recurring one made (contract v2's Next-Occurrence-Id, which an undo deletes).
EXPOSE_HEADERS = "x-request-id, x-backend, x-backend-location, server-timing, idempotent-replayed, next-occurrence-id"
MAX_AGE_S = "600"


class Cors:
    """Decides, once per request, which CORS headers an answer carries."""

    def __init__(self, allow_any: bool, origins: frozenset[str]) -> None:
        self._any = allow_any
        self._origins = origins
        self.enabled = allow_any or bool(origins)

    @classmethod
    def from_settings(cls, settings: Settings) -> Cors:
        return cls(settings.cors_allow_any, settings.cors_allow_origins)

    def is_allowed_origin(self, origin: str) -> bool:
        return self._any or origin in self._origins

    @staticmethod
    def is_preflight(method: str, headers: Headers) -> bool:
        return method == "OPTIONS" and headers.has("origin") and headers.has("access-control-request-method")

    def preflight_headers(self, headers: Headers) -> list[tuple[str, str]]:
        """Headers of the 204 answer to a preflight, or OriginNotAllowed."""
        origin = headers.get("origin") or ""
        if not self.enabled or not self.is_allowed_origin(origin):
            raise OriginNotAllowed()
        return [
            ("access-control-allow-origin", "*" if self._any else origin),
            ("access-control-allow-methods", ALLOW_METHODS),
            ("access-control-allow-headers", ALLOW_HEADERS),
            ("access-control-max-age", MAX_AGE_S),
            ("vary", "Origin"),
        ]

    def apply(self, origin: str | None, response_headers: Headers) -> None:
        """Add CORS headers to an actual (non-preflight) answer."""
        if self.enabled:
            response_headers.append("vary", "Origin")
        if not self.enabled or origin is None or not self.is_allowed_origin(origin):
            # An upstream must not grant what the gateway does not.
            response_headers.delete("access-control-allow-origin")
            response_headers.delete("access-control-allow-credentials")
            return
        response_headers.set("access-control-allow-origin", "*" if self._any else origin)
        response_headers.set("access-control-expose-headers", EXPOSE_HEADERS)
