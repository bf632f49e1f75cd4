"""Forward one request to its backend and map what can go wrong.

The body is never read: the runtime's body object goes to the runtime's
fetch unchanged, and the upstream's body comes back the same way. Failures
map to answers in one place (cf. Caddy's ``statusError``):

    no headers within the deadline     → 504 upstream_timeout
    refused / reset / unresolvable     → 503 backend_unavailable (+ passive mark)
    not HTTP                           → 502 bad_gateway
    the client's own body failed       → its 408/413 (``ClientFault``)

The status of every answer the backend gave is reported to ``on_answer``
(the outlier count: ``HealthMonitor.observe``); gateway-made errors are not.
"""

from __future__ import annotations

from collections.abc import Callable

from .backends import Backend
from .errors import (
    BackendUnavailable,
    BadGateway,
    ClientFault,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamTimeoutError,
)
from .headers import strip_hop_by_hop
from .runtime import Headers, Platform, Request, Response
from .urls import Target


def target_url(backend: Backend, parts: Target) -> str:
    """The backend's base URL followed by the client's path and query.

    Only path and query are taken from the client, so no request target
    (absolute form, ``//host``, ``@host``) can change the host we call.
    """
    path = parts.path if parts.path.startswith("/") else "/" + parts.path
    return backend.url + path + ("?" + parts.query if parts.query else "")


def forwarding_headers(
    headers: Headers, parts: Target, client_ip: str | None, *, request_id: str, version: str
) -> None:
    """Prepare client headers for the upstream, in place."""
    strip_hop_by_hop(headers)
    # The runtime's fetch sets Host from the target URL; the original goes on
    # as X-Forwarded-Host.
    headers.delete("host")
    # Expect is between the client and the gateway's front end (RFC 9110 §10.1.1): the twin's
    # server answers it, workerd's passes it on. Forwarded, it would ask the upstream for a 100
    # nobody waits for, or a 417 for an expectation the client made of the first hop.
    headers.delete("expect")
    if client_ip:
        previous = headers.get("x-forwarded-for")
        headers.set("x-forwarded-for", f"{previous}, {client_ip}" if previous else client_ip)
    headers.set("x-forwarded-proto", parts.scheme or "http")
    if parts.netloc:
        headers.set("x-forwarded-host", parts.netloc)
    headers.set("x-gateway-version", version)
    headers.set("x-request-id", request_id)


async def forward(
    request: Request,
    parts: Target,
    headers: Headers,
    backend: Backend,
    *,
    platform: Platform,
    timeout_s: float,
    on_connect_error: Callable[[Backend], None],
    on_answer: Callable[[Backend, int], None] = lambda backend, status: None,
) -> Response:
    """Send ``request`` (its URL split into ``parts``, with prepared ``headers``) to ``backend``."""
    for name, value in backend.upstream_headers:
        headers.set(name, value)
    url = target_url(backend, parts)
    try:
        # The runtime keeps the deadline (runtime.UpstreamFetch says why).
        response = await platform.fetch(request.method, url, headers, request.body, timeout_s)
    except UpstreamTimeoutError:
        # Not an answer: a timeout is often one slow endpoint, and a frozen backend
        # fails its health check within HEALTH_TTL_S anyway (docs/design.md, Health).
        raise UpstreamTimeout(backend.id) from None
    except UpstreamConnectError:
        on_connect_error(backend)
        raise BackendUnavailable(backend.id) from None
    except UpstreamProtocolError:
        raise BadGateway() from None
    except ClientFault as exc:
        raise exc.error from None
    on_answer(backend, response.status)
    strip_hop_by_hop(response.headers)
    return response
