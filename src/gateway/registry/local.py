"""Backends from environment variables (``BACKEND_<ID>_URL`` and friends).

The variables are parsed by ``gateway.settings``; this registry only
answers look-ups, so it never touches the environment per request.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..backends import LOCATIONS, Backend, Location


class LocalRegistry:
    """An immutable, in-memory registry."""

    def __init__(self, backends: Iterable[Backend]) -> None:
        self._entries: dict[tuple[str, str], Backend] = {(b.id, b.type): b for b in backends}
        self._locations: dict[str, tuple[Location, ...]] = {}
        for backend_id, _ in self._entries:
            self._locations[backend_id] = tuple(loc for loc in LOCATIONS if (backend_id, loc) in self._entries)

    async def get(self, backend_id: str, location: Location) -> Backend | None:
        return self._entries.get((backend_id, location))

    async def locations(self, backend_id: str) -> tuple[Location, ...]:
        return self._locations.get(backend_id, ())

    async def list(self) -> list[Backend]:
        return [self._entries[key] for key in sorted(self._entries)]
