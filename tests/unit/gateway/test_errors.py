import json

import pytest

from gateway import errors
from gateway.errors import GatewayError


def render(exc: GatewayError, rid: str = "rid-1") -> dict:
    return json.loads(exc.body(rid))


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (errors.InvalidBackend(), 400, "invalid_backend"),
        (errors.UnknownBackend("x"), 400, "unknown_backend"),
        (errors.InvalidLocation(), 400, "invalid_location"),
        (errors.LocationUnavailable("no"), 400, "location_unavailable"),
        (errors.Unauthorized(), 401, "unauthorized"),
        (errors.NotFound(), 404, "not_found"),
        (errors.MethodNotAllowed("GET"), 405, "method_not_allowed"),
        (errors.PayloadTooLarge(), 413, "payload_too_large"),
        (errors.RateLimited(60), 429, "rate_limited"),
        (errors.HeadersTooLarge(), 431, "headers_too_large"),
        (errors.Misconfigured("m"), 500, "misconfigured"),
        (errors.BadGateway(), 502, "bad_gateway"),
        (errors.BackendUnavailable("x"), 503, "backend_unavailable"),
        (errors.BackendUnhealthy("x"), 503, "backend_unhealthy"),
        (errors.RegistryUnavailable(), 503, "registry_unavailable"),
        (errors.UpstreamTimeout("x"), 504, "upstream_timeout"),
        (GatewayError(), 500, "internal_error"),
    ],
)
def test_each_error_has_its_status_and_code(exc, status, code):
    assert exc.status == status
    assert exc.code == code
    assert render(exc)["error"]["code"] == code


def test_body_has_exactly_code_message_and_request_id():
    assert render(errors.UnknownBackend("nope"), "abc") == {
        "error": {"code": "unknown_backend", "message": "Unknown backend: nope", "request_id": "abc"}
    }


def test_client_errors_are_4xx_and_server_errors_5xx():
    assert issubclass(errors.UnknownBackend, errors.ClientError)
    assert issubclass(errors.UpstreamTimeout, errors.ServerError)


def test_unauthorized_carries_bearer_challenge():
    headers = dict(errors.Unauthorized().extra_headers)
    assert headers["www-authenticate"].startswith("Bearer")


def test_method_not_allowed_carries_allow():
    assert dict(errors.MethodNotAllowed("GET, HEAD").extra_headers) == {"allow": "GET, HEAD"}


def test_rate_limited_carries_retry_after():
    assert dict(errors.RateLimited(30).extra_headers) == {"retry-after": "30"}


def test_upstream_errors_are_not_gateway_errors():
    # They must be mapped by proxy, never rendered as they are.
    assert not issubclass(errors.UpstreamConnectError, GatewayError)
    assert not issubclass(errors.UpstreamProtocolError, GatewayError)


def test_a_get_with_a_body_refused_by_fetch_is_the_clients_400():
    # workerd's and undici's texts; before, the Worker answered 503 backend_unavailable and
    # marked the backend unhealthy (corpus case body-on-get on workerd).
    for text in (
        "TypeError: Request with a GET or HEAD method cannot have a body.",
        "typeerror request with get/head method cannot have body.",
    ):
        refused = errors.unsendable_request(text)
        assert isinstance(refused, errors.InvalidRequest)
        assert (refused.status, refused.code) == (400, "bad_request")
        assert "http" not in refused.message.lower()


def test_other_fetch_failures_are_not_the_clients():
    for text in ("Error: Network connection lost.", "TypeError: fetch failed ECONNREFUSED", ""):
        assert errors.unsendable_request(text) is None
