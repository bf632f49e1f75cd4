"""Bodies as JS ``ReadableStream``s: the client's body pipe, shadow capture, reads, discards.

A body stays the JS stream itself (copying one above ~10 MB into Python crashes the
isolate); only what shadow traffic compares is read into Python, up to a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

from pyodide.ffi import JsException, JsProxy

from ..errors import UpstreamConnectError
from ..runtime import Body
from .defer import retrieve
from .natives import absent, natives, options

__all__ = ["CLIENT_BODY_GRACE_S", "ClientBody", "capture", "discard", "read"]

#: How long a request whose body pipe broke waits for ``fetch`` to fail by itself (the
#: upstream's fault) before the client's body is blamed (see :class:`ClientBody`).
CLIENT_BODY_GRACE_S = 0.5


class ClientBody:
    """The client's body stream, piped to ``fetch`` so that its own failure can be told apart.

    workerd rejects a subrequest whose body stream failed with the same "Network connection
    lost." as one whose upstream reset (a malformed chunked request body, for one), so the
    client's fault would be answered 502. Here the client's stream is piped into a stream pair
    whose readable side is what ``fetch`` sends, with ``preventAbort``: a broken pipe never
    ends or errors the upstream body by itself (an errored body stream made workerd's
    ``fetch`` *end* the upstream body, so a backend took a truncated request as complete).

    When the pipe breaks, whose side broke it cannot be read from the streams: workerd's native
    pump errors both ends with the same error either way. What differs is ``fetch``: when the
    upstream broke, it rejects by itself at once; when the client's body broke, it waits for
    more body. So after :data:`CLIENT_BODY_GRACE_S` without ``fetch`` settling, :attr:`failed`
    is set and the subrequest is aborted through its ``AbortController``: the backend never
    sees the body end, and ``fetch`` rejects after the flag is up. Only requests with a body
    pay for this (a stream pair and a native pipe, one Python callback at its end). A body
    with a ``Content-Length`` goes through a ``FixedLengthStream`` of that length, so the
    backend still gets ``Content-Length`` rather than a chunked body.
    """

    __slots__ = ("_controller", "_judge", "failed", "readable", "settled")

    def __init__(self, stream: Any, controller: Any, length: int | None) -> None:
        bound = natives()
        if length is not None and bound.fixed_length_stream is not None:
            channel = bound.fixed_length_stream.new(length)
        else:
            channel = bound.identity_stream.new()
        self.readable = channel.readable
        self._controller = controller
        self._judge: asyncio.Future[None] | None = None
        self.failed = False
        self.settled = False
        piping = asyncio.ensure_future(stream.pipeTo(channel.writable, options(preventAbort=True)))
        piping.add_done_callback(self._piped)

    def _piped(self, piping: asyncio.Future[Any]) -> None:
        if self.settled or piping.cancelled() or piping.exception() is None:
            return  # fetch already answered or failed, or the whole body went through
        self._judge = asyncio.ensure_future(self._blame_client_unless_fetch_fails())
        self._judge.add_done_callback(retrieve)

    async def _blame_client_unless_fetch_fails(self) -> None:
        await asyncio.sleep(CLIENT_BODY_GRACE_S)
        if not self.settled:
            self.failed = True
            self._controller.abort()

    def settle(self) -> None:
        """``fetch`` answered or failed: a broken pipe from now on is nobody's verdict."""
        self.settled = True
        if self._judge is not None:
            self._judge.cancel()


async def discard(body: Body) -> None:
    """Release a fetched body the core does not forward."""
    if isinstance(body, JsProxy) and not absent(body):
        with contextlib.suppress(JsException):
            await body.cancel()


def capture(body: Body, limit: int) -> tuple[Body, Awaitable[bytes | None]]:
    """``runtime.Capture``: ``ReadableStream.tee()``; the second branch is read into Python.

    The copy is read at once, in a task of its own, so the tee never holds
    more for it than ``limit`` (the branch is cancelled past it) and the
    first branch goes to its reader at the source's pace.
    """
    if isinstance(body, (bytes, bytearray, memoryview)) or absent(body):
        data = b"" if absent(body) else bytes(body)
        done: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        done.set_result(data if len(data) <= limit else None)
        return body, done
    first, second = body.tee()
    copy = asyncio.ensure_future(read(second, limit))
    copy.add_done_callback(retrieve)
    return first, copy


async def read(body: Body, limit: int) -> bytes | None:
    """``runtime.ReadBody`` over a JS ``ReadableStream``: cancelled past ``limit``."""
    if absent(body):
        return b""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body) if len(body) <= limit else None
    reader = body.getReader()
    parts: list[bytes] = []
    size = 0
    try:
        while True:
            try:
                chunk = await reader.read()
            except JsException as exc:
                raise UpstreamConnectError("body read failed") from exc
            if chunk.done:
                return b"".join(parts)
            data = chunk.value.to_bytes()
            size += len(data)
            if size > limit:
                with contextlib.suppress(JsException):
                    await reader.cancel()
                return None
            parts.append(data)
    except asyncio.CancelledError:
        with contextlib.suppress(JsException):
            reader.cancel()
        raise
