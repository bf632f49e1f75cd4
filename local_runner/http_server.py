"""The twin's HTTP/1.1 server: an asyncio protocol over llhttp (``httptools``).

It converts the client's bytes to the core's views and back, plus the
connection-level guards a server owes the gateway behind it (the Worker gets
these from Cloudflare's edge):

* a request head must arrive within ``CLIENT_HEADER_TIMEOUT_MS`` of the
  connection opening or of its first byte (slowloris); one sweep per
  server enforces every connection's deadline, not a timer per request;
* a request head larger than ``MAX_HEADER_BYTES`` or with more than
  :data:`MAX_HEADER_FIELDS` lines is cut off with a JSON 431 as its bytes
  arrive, before the parser sees them;
* each piece of a request body must come within ``CLIENT_BODY_TIMEOUT_MS``
  (408), and a body is cut at ``MAX_BODY_BYTES`` (413), see
  ``bodies.ClientBody``;
* what llhttp rejects (strict mode: no bare LF, no obs-fold, no
  Content-Length with Transfer-Encoding, …), a repeated singleton field
  (``Host``, ``Content-Length``, … as RFC 9110 defines them) and an HTTP/1.1
  request without ``Host`` get a JSON 400 and a closed connection; the
  parser's message, which can quote the offending bytes (an
  ``Authorization`` line, say), is neither sent nor logged.

Keep-alive, pipelining (answers in order, one at a time), ``HEAD``,
``Expect: 100-continue`` (answered here when the body is first read),
chunked bodies both ways and backpressure both ways are handled here; a
client that goes away cancels its request (and so the upstream call), and
:meth:`HttpServer.shutdown` lets requests in flight finish. docs/design.md
has the measurements that replaced aiohttp's server with this module.

Everything the gateway decides happens in ``Gateway.handle``, the same
pipeline the Worker serves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from gateway.runtime import Handler

from .http_connection import HttpConnection


class HttpServer:
    """Protocol factory for ``loop.create_server``: one :class:`HttpConnection` per client.

    Example::

        server = HttpServer(gateway.handle, own_host="127.0.0.1:8787", log=print)
        listener = await loop.create_server(server, "127.0.0.1", 8787)
        ...
        listener.close()
        await server.shutdown(10.0)
    """

    def __init__(
        self,
        handle: Handler,
        *,
        own_host: str,
        log: Callable[[str], None],
        max_head_bytes: int = 16384,
        max_body_bytes: int = 0,
        header_timeout_s: float = 10.0,
        body_timeout_s: float | None = None,
        keepalive_timeout_s: float = 75.0,
        lingering_time_s: float = 2.0,
    ) -> None:
        self.handle = handle
        self.own_host = own_host
        self.log = log
        self.max_head_bytes = max_head_bytes
        self.max_body_bytes = max_body_bytes
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        self.keepalive_timeout_s = keepalive_timeout_s
        self.lingering_time_s = lingering_time_s
        self.loop = asyncio.get_running_loop()
        self.connections: set[HttpConnection] = set()
        self.closing = False
        self._all_closed: asyncio.Future[None] | None = None
        self._tick_s = min(1.0, header_timeout_s / 4)
        # One sweep for every connection instead of a timer per request head:
        # a timer costs ~2 µs to arm and cancel, on every request.
        self._sweeper = self.loop.call_later(self._tick_s, self._sweep)

    def __call__(self) -> HttpConnection:
        return HttpConnection(self)

    def forget(self, connection: HttpConnection) -> None:
        """A connection closed."""
        self.connections.discard(connection)
        if not self.connections and self._all_closed is not None and not self._all_closed.done():
            self._all_closed.set_result(None)

    def _sweep(self) -> None:
        now = self.loop.time()
        for connection in [c for c in self.connections if c.overdue(now)]:
            connection.expire(now)
        self._sweeper = self.loop.call_later(self._tick_s, self._sweep)

    async def shutdown(self, timeout_s: float) -> None:
        """Close idle connections now, let answers in flight finish within ``timeout_s``, then cut the rest."""
        self.closing = True
        self._sweeper.cancel()
        for connection in list(self.connections):
            connection.close_when_idle()
        if self.connections:
            self._all_closed = self.loop.create_future()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_s):
                    await self._all_closed
        for connection in list(self.connections):
            connection.abort()
