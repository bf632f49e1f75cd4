import pytest

from gateway.backends import BACKEND_ID, Backend, UrlError, normalise_url


@pytest.mark.parametrize("backend_id", ["bun-sqlite", "a", "0", "a" * 63, "cf-d1"])
def test_valid_backend_ids(backend_id):
    assert BACKEND_ID.fullmatch(backend_id)


@pytest.mark.parametrize("backend_id", ["", "-a", "A", "a_b", "a" * 64, "a.b", "a b", "é"])
def test_invalid_backend_ids(backend_id):
    assert not BACKEND_ID.fullmatch(backend_id)


def test_normalise_url_drops_trailing_slash_and_keeps_path():
    assert normalise_url(" https://h.example/api/ ", "cloud") == "https://h.example/api"


def test_normalise_url_keeps_ipv6_brackets_and_port():
    assert normalise_url("http://[::1]:8080", "cloud") == "http://[::1]:8080"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.5.5.5", "[::1]"])
def test_cloud_entry_may_use_http_on_loopback(host):
    assert normalise_url(f"http://{host}:1", "cloud").startswith("http://")


@pytest.mark.parametrize("url", ["http://10.0.0.1", "http://example.com", "http://localhost.evil.com"])
def test_cloud_entry_needs_https_elsewhere(url):
    with pytest.raises(UrlError):
        normalise_url(url, "cloud")


def test_local_entry_may_use_http_anywhere():
    assert normalise_url("http://example.com", "local") == "http://example.com"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com",
        "file:///etc/passwd",
        "https://",
        "https://u:p@h",
        "https://@h",
        "https://h#f",
        "https://h?x=1",
        "https://h:notaport",
    ],
)
def test_unusable_urls_are_refused(url):
    with pytest.raises(UrlError):
        normalise_url(url, "local")


def test_url_error_message_does_not_echo_credentials():
    with pytest.raises(UrlError) as err:
        normalise_url("https://user:hunter2@h.example", "local")
    assert "hunter2" not in str(err.value)


def test_backend_key_is_id_at_location():
    assert Backend("cf-d1", "D1", "https://h", "cloud").key == "cf-d1@cloud"


def test_backend_repr_hides_credentials():
    backend = Backend("x", "X", "https://h", "cloud", upstream_headers=(("authorization", "Bearer tok-123"),))
    assert "tok-123" not in repr(backend)
