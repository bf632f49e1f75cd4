from urllib.parse import urlsplit

import pytest

from gateway.urls import split_url


@pytest.mark.parametrize(
    "url",
    [
        "http://gw.example/tasks",
        "https://gw.example:8443/a%2Fb?x=1&y=%20",
        "http://gw.example",
        "http://gw.example?x=1",
        "http://[::1]:8787//evil.example/x",
        "http://gw.example/@evil.example",
        "http://gw.example/path#frag",
        "http://gw.example/a?b=c?d",
    ],
)
def test_split_url_agrees_with_urlsplit_on_absolute_urls(url):
    expected = urlsplit(url)
    got = split_url(url)
    assert (got.scheme, got.netloc, got.query) == (expected.scheme, expected.netloc, expected.query)
    assert got.path == (expected.path or "/")


def test_split_url_without_scheme_keeps_everything_in_the_path():
    assert split_url("/tasks?x=1") == ("", "", "/tasks", "x=1")
