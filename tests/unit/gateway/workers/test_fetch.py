"""gateway.workers.fetch: a rejected JS ``fetch`` mapped to the core's failures, in one place."""

import pytest

from gateway.errors import ClientFault, UpstreamConnectError, UpstreamProtocolError
from gateway.workers.fetch import _declared_length, upstream_error

from .conftest import JsException, JsObject

URL = "http://127.0.0.1:9/x"


async def test_a_get_with_a_body_refused_by_fetch_is_the_clients_400():
    error = await upstream_error(JsException("Request with a GET or HEAD method cannot have a body.", "TypeError"), URL)
    assert isinstance(error, ClientFault)
    assert error.error.status == 400


async def test_an_llhttp_code_in_the_cause_is_a_protocol_error():
    cause = JsObject(code="HPE_INVALID_CONSTANT", message="Expected HTTP/")
    error = await upstream_error(JsException("fetch failed", "TypeError", cause), URL)
    assert isinstance(error, UpstreamProtocolError)


async def test_a_refused_connection_is_a_connect_error():
    cause = JsObject(code="ECONNREFUSED", message="connect ECONNREFUSED")
    error = await upstream_error(JsException("fetch failed", "TypeError", cause), URL)
    assert isinstance(error, UpstreamConnectError)


async def test_workerds_connection_lost_without_a_sockets_api_stays_a_connect_error():
    # Outside workerd there is no ``cloudflare:sockets`` to probe the upstream with.
    error = await upstream_error(JsException("Network connection lost."), URL)
    assert isinstance(error, UpstreamConnectError)


@pytest.mark.parametrize(("value", "length"), [("12", 12), ("0", 0), (None, None), ("1, 1", None), ("-1", None)])
def test_declared_length_is_a_valid_content_length_or_none(value, length):
    headers = {} if value is None else {"content-length": value}
    assert _declared_length(headers) == length
