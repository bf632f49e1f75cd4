"""``UNDERSCORE_HEADERS``: request fields whose name has an underscore, on every runtime.

``Transfer_Encoding``/``Content_Length`` are look-alikes of the framing fields: a backend that
folds ``_`` into ``-`` (CGI, WSGI, PHP, Rack) would frame the body by them, not by the
``Content-Length`` the gateway checked. ``drop`` (the default, nginx's) removes them, ``reject``
answers 400 and ``allow`` forwards them (docs/hardening.md, "Header names with underscores").
"""

from __future__ import annotations

import hashlib

import pytest

from .conftest import assert_error, echo

UPSTREAMS = ("app",)
BODY = b"hello"
#: The smuggling corpus' look-alikes, next to a real Content-Length of 5.
LOOKALIKES = {"Transfer_Encoding": "chunked", "Content_Length": "0", "X_Custom_Id": "u-1"}


def env(upstreams, action: str | None) -> dict[str, str]:
    settings = {"ENVIRONMENT": "local", "DEFAULT_BACKEND": "app", "BACKEND_APP_URL": upstreams["app"].url}
    if action is not None:
        settings["UNDERSCORE_HEADERS"] = action
    return settings


@pytest.fixture(scope="module")
def by_default(launch, upstreams):
    return launch(env(upstreams, None))


@pytest.fixture(scope="module")
def rejecting(launch, upstreams):
    return launch(env(upstreams, "reject"))


@pytest.fixture(scope="module")
def allowing(launch, upstreams):
    return launch(env(upstreams, "allow"))


def post(gateway, path: str):
    return gateway.request("POST", path, headers={**LOOKALIKES, "content-type": "text/plain"}, content=BODY)


def test_lookalike_framing_fields_never_reach_the_upstream_by_default(by_default, upstreams):
    echo(post(by_default, "/underscore/default"))
    seen = upstreams["app"].last("/underscore/default")
    assert not any("_" in name for name in seen.headers), seen.headers
    assert seen.body_length == len(BODY)
    assert seen.body_sha256 == hashlib.sha256(BODY).hexdigest()


def test_dash_fields_still_reach_the_upstream_by_default(by_default, upstreams):
    echo(by_default.get("/underscore/dash", headers={"x-custom-id": "u-2", "X_Custom_Id": "u-1"}))
    assert upstreams["app"].last("/underscore/dash").headers["x-custom-id"] == "u-2"


def test_rejecting_answers_json_400_and_calls_no_backend(rejecting, upstreams):
    assert_error(post(rejecting, "/underscore/reject"), 400, "bad_request")
    assert upstreams["app"].hits("/underscore/reject") == 0


def test_rejecting_passes_a_request_without_underscored_names(rejecting, upstreams):
    echo(rejecting.get("/underscore/clean", headers={"x-custom-id": "u-3"}))
    assert upstreams["app"].hits("/underscore/clean") == 1


def test_allowing_forwards_the_underscored_fields_as_they_are(allowing, upstreams):
    echo(post(allowing, "/underscore/allow"))
    seen = upstreams["app"].last("/underscore/allow")
    assert seen.headers["x_custom_id"] == "u-1"
    assert seen.headers["transfer_encoding"] == "chunked"
    assert seen.body_length == len(BODY)
