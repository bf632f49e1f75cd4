"""gateway.workers.headers: a JS ``Headers`` read in one string, a ``HeadersInit`` written as one."""

from gateway.headers import FetchHeaders, HeaderMap
from gateway.workers.headers import header_fields, headers_init

from .conftest import JsHeaders


def test_header_fields_reads_each_field_as_the_runtime_holds_it():
    fields = header_fields(JsHeaders([("accept", "a, b"), ("x-id", "1")]))
    assert fields.get("accept") == "a, b"
    assert fields.get("x-id") == "1"


def test_header_fields_keeps_each_set_cookie_apart():
    fields = header_fields(JsHeaders([("set-cookie", "a=1"), ("set-cookie", "b=2"), ("x", "y")]))
    assert [value for name, value in fields.items() if name == "set-cookie"] == ["a=1", "b=2"]


def test_headers_init_is_a_record_when_no_name_repeats():
    assert headers_init(HeaderMap([("a", "1"), ("b", "2")])) == {"a": "1", "b": "2"}


def test_headers_init_is_pairs_when_a_name_repeats():
    assert headers_init(HeaderMap([("set-cookie", "a=1"), ("set-cookie", "b=2")])) == [
        ("set-cookie", "a=1"),
        ("set-cookie", "b=2"),
    ]


def test_headers_init_hands_over_a_fetch_headers_own_record():
    headers = FetchHeaders({"a": "1"})
    assert headers_init(headers) == {"a": "1"}
