"""Backend registries: where the gateway learns which backends exist.

Two implementations of one small protocol: :class:`~.local.LocalRegistry`
(``BACKEND_<ID>_*`` variables, parsed by ``gateway.settings``) and
:class:`~.cloud.CloudRegistry` (the ``BACKEND_CONFIG_KV`` namespace). The
gateway picks one once, where it is assembled (``gateway.app``).
"""

from __future__ import annotations

from typing import Protocol

from ..backends import Backend, Location


class BackendRegistry(Protocol):
    """Where backends come from: environment variables or KV."""

    async def get(self, backend_id: str, location: Location) -> Backend | None:
        """The entry of ``backend_id`` at ``location``, or None."""

    async def locations(self, backend_id: str) -> tuple[Location, ...]:
        """Every location ``backend_id`` has an entry at (empty if unknown)."""

    async def list(self) -> list[Backend]:
        """Every entry, sorted by id then location."""
