from local_runner.server import headers_from_raw


def test_headers_from_raw_decodes_latin1_and_keeps_repeats():
    raw = [(b"Set-Cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"X-Name", "café".encode("latin-1"))]
    headers = headers_from_raw(raw)
    assert [v for k, v in headers.items() if k == "set-cookie"] == ["a=1", "b=2"]
    assert headers.get("x-name") == "café"
