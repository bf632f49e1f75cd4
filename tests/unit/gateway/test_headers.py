import pytest

from gateway.headers import HOP_BY_HOP, FetchHeaders, HeaderMap, request_id, strip_hop_by_hop, underscored_names


def test_header_map_get_is_case_insensitive():
    assert HeaderMap([("Content-Type", "a/b")]).get("CONTENT-TYPE") == "a/b"


def test_header_map_get_joins_repeated_fields():
    assert HeaderMap([("x", "1"), ("X", "2")]).get("x") == "1, 2"


def test_header_map_get_absent_is_none():
    assert HeaderMap().get("x") is None


def test_header_map_set_replaces_every_value():
    h = HeaderMap([("x", "1"), ("x", "2")])
    h.set("X", "3")
    assert list(h.items()) == [("x", "3")]


def test_header_map_append_keeps_previous_values():
    h = HeaderMap([("x", "1")])
    h.append("X", "2")
    assert list(h.items()) == [("x", "1"), ("x", "2")]


def test_header_map_delete_removes_every_value_and_ignores_absent():
    h = HeaderMap([("x", "1"), ("y", "2"), ("X", "3")])
    h.delete("x")
    h.delete("absent")
    assert list(h.items()) == [("y", "2")]
    assert not h.has("x")


def test_header_map_items_are_lower_case():
    assert list(HeaderMap([("X-Thing", "V")]).items()) == [("x-thing", "V")]


def test_header_map_copy_is_independent():
    h = HeaderMap([("x", "1")])
    c = h.copy()
    c.set("x", "2")
    c.append("y", "3")
    assert list(h.items()) == [("x", "1")]


#: The connection-specific fields a proxy never forwards (RFC 9110 §7.6.1; the list is RFC 2616
#: §13.5.1's), with Proxy-Connection, the non-standard one old clients still send.
HOP_BY_HOP_FIELDS = (
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
)


@pytest.mark.parametrize("name", HOP_BY_HOP_FIELDS)
def test_hop_by_hop_field_is_stripped(name):
    h = HeaderMap([(name.title(), "v"), ("content-type", "text/plain")])
    strip_hop_by_hop(h)
    assert list(h.items()) == [("content-type", "text/plain")]


def test_hop_by_hop_list_covers_rfc_9110():
    assert set(HOP_BY_HOP_FIELDS) <= HOP_BY_HOP


def test_fields_named_in_connection_are_stripped():
    h = HeaderMap(
        [
            ("Connection", "X-Secret-Hop, close"),
            ("connection", "x-other"),
            ("x-secret-hop", "1"),
            ("x-other", "2"),
            ("close", "3"),
            ("x-keep", "4"),
        ]
    )
    strip_hop_by_hop(h)
    assert list(h.items()) == [("x-keep", "4")]


@pytest.mark.parametrize("incoming", ["abc", "A.b_c-9", "x" * 128])
def test_well_formed_request_id_is_kept(incoming):
    assert request_id(incoming) == incoming


@pytest.mark.parametrize("incoming", [None, "", "x" * 129, "has space", "a/b", "a\nb", "é"])
def test_malformed_request_id_is_replaced(incoming):
    fresh = request_id(incoming)
    assert fresh != incoming
    assert len(fresh) >= 16 and fresh.isalnum()


def test_fresh_request_ids_differ():
    assert request_id(None) != request_id(None)


# FetchHeaders: the Worker's map, one combined value per name as a JS Headers holds it.


def test_fetch_headers_from_pairs_keeps_every_field():
    h = FetchHeaders.from_pairs([["accept", "a/b"], ["x-thing", "1, 2"]])
    assert list(h.items()) == [("accept", "a/b"), ("x-thing", "1, 2")]


def test_fetch_headers_from_pairs_keeps_each_set_cookie_apart():
    h = FetchHeaders.from_pairs([["a", "1"], ["set-cookie", "s=1"], ["set-cookie", "t=2"]])
    assert list(h.items()) == [("a", "1"), ("set-cookie", "s=1"), ("set-cookie", "t=2")]


def test_fetch_headers_get_is_case_insensitive():
    assert FetchHeaders({"content-type": "a/b"}).get("Content-Type") == "a/b"


def test_fetch_headers_get_absent_is_none():
    assert FetchHeaders().get("x") is None


def test_fetch_headers_get_joins_set_cookie_values():
    assert FetchHeaders({}, ["s=1", "t=2"]).get("set-cookie") == "s=1, t=2"


def test_fetch_headers_set_replaces_the_value():
    h = FetchHeaders({"x": "1"})
    h.set("X", "2")
    assert list(h.items()) == [("x", "2")]


def test_fetch_headers_append_joins_with_comma_space():
    h = FetchHeaders({"vary": "Accept-Encoding"})
    h.append("Vary", "Origin")
    assert h.get("vary") == "Accept-Encoding, Origin"


def test_fetch_headers_append_adds_an_absent_name():
    h = FetchHeaders()
    h.append("server-timing", "a;dur=1")
    assert list(h.items()) == [("server-timing", "a;dur=1")]


def test_fetch_headers_append_set_cookie_keeps_values_apart():
    h = FetchHeaders({"set-cookie": "s=1"})
    h.append("set-cookie", "t=2")
    assert list(h.items()) == [("set-cookie", "s=1"), ("set-cookie", "t=2")]


def test_fetch_headers_delete_removes_the_name_and_ignores_absent():
    h = FetchHeaders({"x": "1", "y": "2"}, ["s=1"])
    h.delete("X")
    h.delete("set-cookie")
    h.delete("absent")
    assert list(h.items()) == [("y", "2")]


def test_fetch_headers_has_sees_set_cookie_values():
    assert FetchHeaders({}, ["s=1"]).has("Set-Cookie")


def test_fetch_headers_names_include_set_cookie():
    assert set(FetchHeaders({"x": "1"}, ["s=1"]).names()) == {"x", "set-cookie"}


def test_fetch_headers_copy_is_independent():
    h = FetchHeaders({"x": "1"}, ["s=1"])
    c = h.copy()
    c.set("x", "2")
    c.append("set-cookie", "t=2")
    assert list(h.items()) == [("x", "1"), ("set-cookie", "s=1")]


def test_fetch_headers_init_is_a_record_without_repeated_cookies():
    assert FetchHeaders({"x": "1"}, ["s=1"]).init() == {"x": "1", "set-cookie": "s=1"}


def test_fetch_headers_init_is_pairs_with_repeated_cookies():
    assert FetchHeaders({"x": "1"}, ["s=1", "t=2"]).init() == [("x", "1"), ("set-cookie", "s=1"), ("set-cookie", "t=2")]


def test_hop_by_hop_strip_works_on_fetch_headers():
    h = FetchHeaders({"connection": "close, x-secret", "x-secret": "1", "te": "trailers", "accept": "a/b"})
    strip_hop_by_hop(h)
    assert list(h.items()) == [("accept", "a/b")]


def test_underscored_names_finds_every_name_with_an_underscore():
    headers = HeaderMap([("Transfer_Encoding", "chunked"), ("x-ok", "1"), ("content_length", "5")])
    assert sorted(underscored_names(headers)) == ["content_length", "transfer_encoding"]


def test_underscored_names_is_empty_for_dash_names():
    assert underscored_names(HeaderMap([("content-length", "5"), ("x-a-b", "1")])) == []


def test_underscored_names_ignores_underscores_in_values():
    assert underscored_names(FetchHeaders({"x-id": "a_b"})) == []


def test_underscored_names_reads_a_fetch_headers_map():
    assert underscored_names(FetchHeaders({"x_forwarded_for": "1.2.3.4"}, ["a=1", "b=2"])) == ["x_forwarded_for"]
