"""Where an upstream origin is, and its idle keep-alive connections."""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING

from gateway.errors import UpstreamProtocolError

if TYPE_CHECKING:
    from .upstream_connection import Connection

#: An idle pooled connection older than this is closed rather than reused
#: (aiohttp's default); upstreams commonly drop theirs after 5–75 s.
KEEPALIVE_S = 15.0
#: Idle connections kept per origin; more are closed when released.
MAX_IDLE = 256


class Origin:
    """Where to connect for one scheme+netloc, and its idle connections (LIFO)."""

    __slots__ = ("host", "host_header", "idle", "port", "ssl")

    def __init__(self, scheme: str, netloc: str, context: ssl.SSLContext | None) -> None:
        authority = netloc.rpartition("@")[2]  # userinfo is never sent on the wire
        host, port = authority, ""
        if authority.startswith("["):
            end = authority.find("]")
            host, port = authority[1:end], authority[end + 2 :]
        elif ":" in authority:
            host, _, port = authority.partition(":")
        if scheme not in ("http", "https") or not host:
            raise UpstreamProtocolError("unsupported upstream URL")
        try:
            self.port = int(port) if port else (443 if scheme == "https" else 80)
        except ValueError:
            raise UpstreamProtocolError("invalid upstream port") from None
        self.host = host
        self.ssl = context
        self.host_header = authority
        self.idle: list[Connection] = []

    def take(self) -> Connection | None:
        idle = self.idle
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < KEEPALIVE_S and not conn.transport.is_closing():  # type: ignore[union-attr]
                return conn
            conn.abort()
        return None

    def put(self, conn: Connection) -> None:
        idle = self.idle
        conn._head = None
        conn.idle_since = now = time.monotonic()
        if idle and now - idle[0].idle_since >= KEEPALIVE_S:
            idle.pop(0).abort()  # the oldest, under steady traffic nothing else would close it
        if len(idle) < MAX_IDLE:
            idle.append(conn)
        else:
            conn.abort()
