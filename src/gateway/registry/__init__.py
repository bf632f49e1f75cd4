"""Backend registries: where the gateway learns which backends exist.

``create_registry`` picks the implementation once, from ``ENVIRONMENT``:
a local gateway reads ``BACKEND_<ID>_*`` variables, a cloud gateway reads
the ``BACKEND_CONFIG_KV`` namespace.
"""

from __future__ import annotations

from ..runtime import Platform
from ..settings import Settings, SettingsError
from .cloud import CloudRegistry
from .local import LocalRegistry
from .types import Backend, BackendRegistry, Location

__all__ = ["Backend", "BackendRegistry", "CloudRegistry", "LocalRegistry", "Location", "create_registry"]


def create_registry(settings: Settings, platform: Platform) -> BackendRegistry:
    """Build the registry ``settings.environment`` asks for."""
    if settings.environment == "local":
        return LocalRegistry(settings.local_backends)
    if platform.kv is None:
        raise SettingsError("BACKEND_CONFIG_KV", "binding is required when ENVIRONMENT=cloud")
    return CloudRegistry(
        platform.kv,
        clock=platform.clock,
        log=platform.log,
        secrets=settings.secrets,
        ttl_s=settings.registry_ttl_s,
        stale_s=settings.registry_stale_s,
    )
