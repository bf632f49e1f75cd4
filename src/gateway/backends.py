"""Backend value types: what a backend entry is, its id rule, its URL rule.

A leaf module (it imports nothing of the gateway), so settings, registries,
health and the proxy can all depend on it without a cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Location = Literal["local", "cloud"]
LOCATIONS: tuple[Location, ...] = ("local", "cloud")

#: A backend id as callers send it in ``x-backend``.
BACKEND_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True, slots=True)
class Backend:
    """One reachable entry of a backend: the backend ``id`` at one location.

    ``url`` is the base URL without a trailing slash; the client's path is
    appended to it. ``upstream_headers`` are credentials the gateway adds
    (Cloudflare Access service token, bearer token); they are kept out of
    ``repr`` so they cannot reach a log by accident.
    """

    id: str
    name: str
    url: str
    type: Location
    health_path: str = "/health"
    region: str | None = None
    upstream_headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def key(self) -> str:
        """Identifies this entry in caches: ``<id>@<location>``."""
        return f"{self.id}@{self.type}"


class UrlError(ValueError):
    """A backend URL that cannot be used; the message says why."""


def normalise_url(raw: str, location: Location) -> str:
    """Check a backend base URL and return it without a trailing slash.

    Cloud entries need https (plain http is accepted only for loopback hosts,
    so a developer can point a cloud entry at a server on this machine).
    Credentials, queries and fragments are refused: they would be forwarded
    or logged in ways nobody intends.
    """
    from urllib.parse import urlsplit  # settings/registry time only: off the cold start

    try:
        parts = urlsplit(raw.strip())
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise UrlError(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise UrlError("must start with http:// or https://")
    if not parts.hostname:
        raise UrlError("has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlError("must not contain credentials")
    if parts.query or parts.fragment:
        raise UrlError("must not contain a query or fragment")
    if location == "cloud" and parts.scheme != "https" and not _is_loopback(parts.hostname):
        raise UrlError("a cloud entry must use https")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
