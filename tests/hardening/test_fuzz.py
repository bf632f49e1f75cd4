"""Property-based fuzz of the request-parsing and routing layer (``Gateway.handle``).

The platform is in memory: a fetch that records each call and answers 200
(granting ``access-control-allow-origin: *``, which the gateway must not pass
on to an unlisted origin). Over arbitrary methods, paths and header values:
never a 5xx, never a non-JSON error, never an upstream URL on another host.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import build_gateway
from gateway.headers import HeaderMap
from gateway.runtime import Platform, Request, Response

BACKEND = "http://backend.internal:8080"
ALLOWED_ORIGIN = "https://app.example.com"
KEY = "fuzz-key-0123456789"


class Clock:
    def wall(self) -> float:
        return 1_700_000_000.0

    def monotonic(self) -> float:
        return 1000.0


class Recorder:
    def __init__(self) -> None:
        self.urls: list[str] = []

    async def fetch(self, method, url, headers, body, timeout_s=None) -> Response:
        self.urls.append(url)
        return Response(200, HeaderMap([("content-type", "text/plain"), ("access-control-allow-origin", "*")]), b"ok")


async def _discard(body) -> None:
    return None


async def _nothing() -> None:
    return None


def _gateway(recorder: Recorder, **env: str):
    platform = Platform(
        fetch=recorder.fetch,
        clock=Clock(),
        log=lambda line: None,
        defer=lambda awaitable: asyncio.ensure_future(awaitable),
        discard=_discard,
        capture=lambda body, limit: (body, _nothing()),
        read=lambda body, limit: _nothing(),
    )
    base = {
        "ENVIRONMENT": "local",
        "DEFAULT_BACKEND": "app",
        "BACKEND_APP_URL": BACKEND,
        "CORS_ALLOW_ORIGINS": ALLOWED_ORIGIN,
        "MAX_BODY_BYTES": "1024",
    }
    return build_gateway({**base, **env}, platform)


LOOP = asyncio.new_event_loop()
OPEN = Recorder()
GUARDED = Recorder()
GATEWAYS = {"open": (_gateway(OPEN), OPEN), "guarded": (_gateway(GUARDED, API_KEY=KEY), GUARDED)}

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
    gateway, recorder = GATEWAYS[which]
    before = len(recorder.urls)
    try:
        url = "http://gw.example" + path
        urlsplit(url)
    except ValueError:
        return  # the runtime never builds such a URL (its Host is validated, its path starts with "/")
    request = Request(method=method, url=url, headers=HeaderMap(fields), body=None, client_ip="203.0.113.9")

    response = LOOP.run_until_complete(gateway.handle(request))

    assert response.status < 500, (response.status, response.body)
    if response.status >= 400:
        assert response.headers.get("content-type") == "application/json"
        if method == "HEAD":
            assert not response.body  # same headers as GET, no body
        else:
            error = json.loads(response.body)["error"]
            assert set(error) == {"code", "message", "request_id"}
            assert "backend.internal" not in response.body.decode()
    for called in recorder.urls[before:]:
        parts = urlsplit(called)
        assert f"{parts.scheme}://{parts.netloc}" == BACKEND, called
    granted = response.headers.get("access-control-allow-origin")
    assert granted in (None, ALLOWED_ORIGIN)
    if granted is not None:
        assert HeaderMap(fields).get("origin") == ALLOWED_ORIGIN
