"""Property-based fuzz of the request-parsing and routing layer (``Gateway.handle``).

The platform is the unit tests' in-memory one (tests/unit/fakes.py): its
upstream records each call and answers 200 (granting
``access-control-allow-origin: *``, which the gateway must not pass on to an
unlisted origin). Over arbitrary methods, paths and header values:
never a 5xx, never a non-JSON error, never an upstream URL on another host.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.headers import HeaderMap
from tests.unit.fakes import Harness, respond

BACKEND = "http://backend.internal:8080"
ALLOWED_ORIGIN = "https://app.example.com"
KEY = "fuzz-key-0123456789"


def _gateway(**env: str) -> Harness:
    harness = Harness(
        {
            "ENVIRONMENT": "local",
            "DEFAULT_BACKEND": "app",
            "BACKEND_APP_URL": BACKEND,
            "CORS_ALLOW_ORIGINS": ALLOWED_ORIGIN,
            "MAX_BODY_BYTES": "1024",
            **env,
        }
    )
    harness.upstream.proxy = respond(200, [("content-type", "text/plain"), ("access-control-allow-origin", "*")], b"ok")
    return harness


LOOP = asyncio.new_event_loop()
GATEWAYS = {"open": _gateway(), "guarded": _gateway(API_KEY=KEY)}

interesting_names = st.sampled_from(
    [
        "x-backend",
        "x-backend-location",
        "authorization",
        "x-api-key",
        "connection",
        "content-length",
        "origin",
        "access-control-request-method",
        "x-request-id",
        "host",
        "transfer-encoding",
        "x-forwarded-for",
        "x-forwarded-host",
        "upgrade",
        "te",
        "keep-alive",
        "expect",
        "forwarded",
    ]
)
header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "app",
            "APP",
            " app ",
            "local",
            "cloud",
            "LOCAL",
            "x-backend, x-api-key",
            "0",
            "-1",
            "99999999999",
            "10, 20",
            f"Bearer {KEY}",
            KEY,
            ALLOWED_ORIGIN,
            "https://evil.example",
            "null",
            "*",
            "GET",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=70),
)
headers = st.lists(
    st.tuples(st.one_of(interesting_names, st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)), header_values),
    max_size=12,
)
paths = st.one_of(
    st.text(max_size=60).map(lambda text: "/" + text),
    st.lists(
        st.sampled_from(
            [
                "",
                "..",
                ".",
                "%2e%2e",
                "%2f",
                "@evil.example",
                "evil.example:1",
                "_gateway",
                "health",
                "backends",
                "?",
                "#",
                "%00",
                "%",
                "\\",
                "http:",
                "a",
            ]
        ),
        max_size=8,
    ).map(lambda parts: "/" + "/".join(parts)),
)
methods = st.one_of(
    st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "CONNECT"]),
    st.from_regex(r"[A-Za-z!#$%&'*+.^_`|~-]{1,12}", fullmatch=True),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(sorted(GATEWAYS)), method=methods, path=paths, fields=headers)
def test_handle_never_5xx_never_non_json_error_never_another_host(which, method, path, fields):
    harness = GATEWAYS[which]
    before = len(harness.upstream.calls)
    try:
        url = "http://gw.example" + path
        urlsplit(url)
    except ValueError:
        return  # the runtime never builds such a URL (its Host is validated, its path starts with "/")
    response = LOOP.run_until_complete(harness.send(method, url, fields, None, client_ip="203.0.113.9"))

    assert response.status < 500, (response.status, response.body)
    if response.status >= 400:
        assert response.headers.get("content-type") == "application/json"
        if method == "HEAD":
            assert not response.body  # same headers as GET, no body
        else:
            error = json.loads(response.body)["error"]
            assert set(error) == {"code", "message", "request_id"}
            assert "backend.internal" not in response.body.decode()
    for called in harness.upstream.calls[before:]:
        parts = urlsplit(called.url)
        assert f"{parts.scheme}://{parts.netloc}" == BACKEND, called.url
    granted = response.headers.get("access-control-allow-origin")
    assert granted in (None, ALLOWED_ORIGIN)
    if granted is not None:
        assert HeaderMap(fields).get("origin") == ALLOWED_ORIGIN
