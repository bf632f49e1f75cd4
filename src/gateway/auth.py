"""API-key authentication: ``Authorization: Bearer <key>`` or ``x-api-key``."""

from __future__ import annotations

from .errors import Unauthorized
from .runtime import Headers

CREDENTIAL_HEADERS = ("authorization", "x-api-key")


class ApiKeyAuth:
    """Checks the key in constant time and removes the credential headers."""

    def __init__(self, api_key: str) -> None:
        import hmac  # only gateways with a key pay for the import

        self._compare = hmac.compare_digest
        self._key = api_key.encode()

    def authenticate(self, headers: Headers) -> None:
        """Raise Unauthorized unless ``headers`` carry the key; strip them either way."""
        candidates = []
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                candidates.append(token.strip())
        api_key = headers.get("x-api-key")
        if api_key is not None:
            candidates.append(api_key.strip())
        for name in CREDENTIAL_HEADERS:
            headers.delete(name)
        # Compare every candidate so timing does not tell which header matched.
        ok = False
        for candidate in candidates:
            ok |= self._compare(candidate.encode(), self._key)
        if not ok:
            raise Unauthorized()
