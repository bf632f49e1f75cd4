"""gateway.workers.natives: JS globals bound once, and the small conversions across the boundary."""

from gateway.workers.natives import absent, js_body, js_init, natives, options

from .conftest import JSNULL, JsObject


def test_absent_is_true_for_none_and_js_null_only():
    assert absent(None) and absent(JSNULL)
    assert not absent("") and not absent(0)


def test_natives_are_bound_once():
    assert natives() is natives()


def test_options_is_a_js_object_with_the_fields():
    made = options(prefix="backends/", cursor="c1")
    assert isinstance(made, JsObject)
    assert (made.prefix, made.cursor) == ("backends/", "c1")


def test_js_init_crosses_as_one_json_string():
    init = js_init({"status": 201, "headers": {"a": "1"}})
    assert (init.status, init.headers) == (201, {"a": "1"})


def test_js_body_copies_the_gateways_bytes_and_passes_a_stream_through():
    stream = JsObject()
    assert js_body(bytearray(b"ab")) == b"ab"
    assert js_body(stream) is stream
