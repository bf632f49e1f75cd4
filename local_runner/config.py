"""The twin's own configuration: the ``.env`` file and its connection guards."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.settings import read_int


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The twin's connection guards (Cloudflare's edge provides these to the Worker).

    ``CLIENT_HEADER_TIMEOUT_MS`` (default 10000): a request head must be
    complete this long after the connection opens or its first byte arrives.
    ``CLIENT_BODY_TIMEOUT_MS`` (default 30000): the longest wait for the next
    piece of a request body (then 408 and the upstream request is aborted).
    """

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServerLimits:
        """Parse the guards; raises ``SettingsError`` naming a bad variable."""
        return cls(
            header_timeout_s=read_int(env, "CLIENT_HEADER_TIMEOUT_MS", 10000, minimum=1) / 1000,
            body_timeout_s=read_int(env, "CLIENT_BODY_TIMEOUT_MS", 30000, minimum=1) / 1000,
        )


def read_env_file(path: str) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=VALUE`` lines, ``#`` comments, optional quotes."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("export "):
                line = line[len("export ") :]
            key, sep, value = line.partition("=")
            key = key.strip()
            if not sep or not key.replace("_", "").isalnum():
                raise ValueError(f"{path}:{number}: expected KEY=VALUE")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            values[key] = value
    return values
