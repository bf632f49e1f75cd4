import pytest

from gateway.backends import Backend
from gateway.errors import (
    BackendUnavailable,
    BadGateway,
    ClientFault,
    PayloadTooLarge,
    RequestTimeout,
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamTimeout,
)
from gateway.headers import HeaderMap
from gateway.proxy import forward, forwarding_headers, target_url
from gateway.runtime import Request
from gateway.urls import Target, split_url
from tests.unit.fakes import HOP_BY_HOP_ANSWER, Harness, fail, respond

BUN = Backend("bun-sqlite", "Bun", "http://bun.internal:3000", "local")


def request(url: str = "https://gw.example/tasks?a=1", headers=(), body=None, client_ip="203.0.113.7") -> Request:
    return Request("POST", url, HeaderMap(list(headers)), body, client_ip)


def parts_of(req: Request) -> tuple[Target, str | None]:
    """What the pipeline passes to ``forwarding_headers``: the split URL and the client."""
    return split_url(req.url), req.client_ip


def send(req: Request, headers: HeaderMap, backend: Backend, **kw):
    """``forward`` as the pipeline calls it: the request, its split URL, prepared headers."""
    return forward(req, split_url(req.url), headers, backend, **kw)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://gw.example/tasks?a=1&b=%20", "http://bun.internal:3000/tasks?a=1&b=%20"),
        ("https://gw.example", "http://bun.internal:3000/"),
        ("https://gw.example/", "http://bun.internal:3000/"),
        ("https://gw.example/a%2Fb/c", "http://bun.internal:3000/a%2Fb/c"),
        ("https://gw.example/x#frag", "http://bun.internal:3000/x"),
    ],
)
def test_target_keeps_path_and_query(url, expected):
    assert target_url(BUN, split_url(url)) == expected


def test_target_appends_to_a_base_path():
    backend = Backend("x", "X", "https://h.example/api", "cloud")
    assert target_url(backend, split_url("https://gw/tasks")) == "https://h.example/api/tasks"


@pytest.mark.parametrize(
    "url",
    [
        "https://gw.example//evil.example/x",
        "https://gw.example/@evil.example/x",
        "http://evil.example/x",
        "https://gw.example/%2F%2Fevil.example",
        "https://user@gw.example/x",
    ],
)
def test_path_tricks_never_change_the_upstream_host(url):
    from urllib.parse import urlsplit

    target = urlsplit(target_url(BUN, split_url(url)))
    assert (target.scheme, target.hostname, target.port) == ("http", "bun.internal", 3000)
    assert target.username is None


def test_forwarding_headers_strip_hop_by_hop_and_connection_listed():
    headers = HeaderMap(
        [
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "5"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("x-keep", "2"),
        ]
    )
    forwarding_headers(headers, *parts_of(request()), request_id="rid", version="9.9")
    names = {k for k, _ in headers.items()}
    assert names.isdisjoint({"connection", "x-hop", "keep-alive", "te", "upgrade"})
    assert headers.get("x-keep") == "2"


def test_forwarding_headers_drop_host():
    headers = HeaderMap([("host", "gw.example")])
    forwarding_headers(headers, *parts_of(request()), request_id="rid", version="1")
    assert headers.get("host") is None


def test_forwarding_headers_drop_expect():
    # The twin's server answered Expect itself; on workerd it reached the backend (corpus
    # expect-100-continue, expect-unknown on the workerd runtime).
    for value in ("100-continue", "200-ok"):
        headers = HeaderMap([("expect", value), ("content-length", "2")])
        forwarding_headers(headers, *parts_of(request()), request_id="rid", version="1")
        assert headers.get("expect") is None
        assert headers.get("content-length") == "2"


def test_forwarded_for_is_appended():
    headers = HeaderMap([("x-forwarded-for", "198.51.100.1")])
    forwarding_headers(headers, *parts_of(request()), request_id="rid", version="1")
    assert headers.get("x-forwarded-for") == "198.51.100.1, 203.0.113.7"


def test_forwarded_for_starts_with_client_ip():
    headers = HeaderMap()
    forwarding_headers(headers, *parts_of(request()), request_id="rid", version="1")
    assert headers.get("x-forwarded-for") == "203.0.113.7"


def test_forwarded_proto_host_version_and_request_id_are_set():
    headers = HeaderMap([("x-forwarded-proto", "gopher"), ("x-forwarded-host", "spoofed"), ("x-request-id", "old")])
    forwarding_headers(headers, *parts_of(request("http://gw.example:8080/x")), request_id="rid-7", version="1.2.3")
    assert headers.get("x-forwarded-proto") == "http"
    assert headers.get("x-forwarded-host") == "gw.example:8080"
    assert headers.get("x-gateway-version") == "1.2.3"
    assert headers.get("x-request-id") == "rid-7"


async def test_forward_passes_method_url_headers_and_the_same_body_object():
    h = Harness.local()
    body = object()
    upstream_body = object()
    h.upstream.proxy = respond(201, [("x-up", "1")], upstream_body)
    headers = HeaderMap([("content-type", "application/json")])
    response = await send(request(body=body), headers, BUN, platform=h.platform, timeout_s=5, on_connect_error=print)
    (call,) = h.upstream.calls
    assert (call.method, call.url) == ("POST", "http://bun.internal:3000/tasks?a=1")
    assert call.body is body
    assert call.header("content-type") == "application/json"
    assert response.status == 201
    assert response.body is upstream_body
    assert response.headers.get("x-up") == "1"


async def test_forward_adds_backend_credentials_over_client_ones():
    h = Harness.local()
    backend = Backend(
        "cf-d1", "D1", "https://d1.example.com", "cloud", upstream_headers=(("authorization", "Bearer gateway-token"),)
    )
    headers = HeaderMap([("authorization", "Bearer client-token")])
    await send(request(), headers, backend, platform=h.platform, timeout_s=5, on_connect_error=print)
    (call,) = h.upstream.calls
    assert [v for k, v in call.headers if k == "authorization"] == ["Bearer gateway-token"]


async def test_forward_strips_hop_by_hop_from_the_response():
    h = Harness.local()
    h.upstream.proxy = respond(200, HOP_BY_HOP_ANSWER)
    response = await send(request(), HeaderMap(), BUN, platform=h.platform, timeout_s=5, on_connect_error=print)
    assert list(response.headers.items()) == [("x-public", "2")]


async def test_no_headers_before_deadline_is_upstream_timeout():
    h = Harness.local()
    h.upstream.proxy = h.upstream.hang()
    with pytest.raises(UpstreamTimeout) as err:
        await send(request(), HeaderMap(), BUN, platform=h.platform, timeout_s=0.05, on_connect_error=print)
    assert err.value.status == 504
    assert h.upstream.cancelled == 1


async def test_connect_error_is_backend_unavailable_and_marks_the_backend():
    h = Harness.local()
    h.upstream.proxy = fail(UpstreamConnectError, "refused")
    marked = []
    with pytest.raises(BackendUnavailable) as err:
        await send(request(), HeaderMap(), BUN, platform=h.platform, timeout_s=5, on_connect_error=marked.append)
    assert err.value.status == 503
    assert marked == [BUN]


async def test_protocol_error_is_bad_gateway_and_does_not_mark():
    h = Harness.local()
    h.upstream.proxy = fail(UpstreamProtocolError, "garbage")
    marked = []
    with pytest.raises(BadGateway) as err:
        await send(request(), HeaderMap(), BUN, platform=h.platform, timeout_s=5, on_connect_error=marked.append)
    assert err.value.status == 502
    assert marked == []


@pytest.mark.parametrize("error", [PayloadTooLarge(), RequestTimeout()])
async def test_client_fault_answers_the_clients_error_and_does_not_mark(error):
    h = Harness.local()

    async def responder(call):
        raise ClientFault(error)

    h.upstream.proxy = responder
    marked = []
    with pytest.raises(type(error)) as err:
        await send(request(), HeaderMap(), BUN, platform=h.platform, timeout_s=5, on_connect_error=marked.append)
    assert err.value is error
    assert marked == []


async def test_mapped_errors_do_not_carry_the_upstream_message():
    h = Harness.local()
    h.upstream.proxy = fail(UpstreamConnectError, "http://bun.internal:3000 refused")
    with pytest.raises(BackendUnavailable) as err:
        await send(request(), HeaderMap(), BUN, platform=h.platform, timeout_s=5, on_connect_error=print)
    assert "bun.internal" not in err.value.message
    assert err.value.__cause__ is None
