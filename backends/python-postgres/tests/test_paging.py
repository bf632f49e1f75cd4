"""Cursors: what encode_cursor writes decodes to the same position; anything else is refused."""

import pytest

from gtd_pg.paging import Position, decode_cursor, encode_cursor


def test_a_cursor_round_trips():
    position = Position("2026-12-05T10:00:00.123Z", 42)
    assert decode_cursor(encode_cursor(position)) == position


def test_a_cursor_is_base64url_without_padding():
    cursor = encode_cursor(Position("2026-12-05T10:00:00.123Z", 1))
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "!!!!",
        encode_cursor(Position("2026-12-05T10:00:00.123Z", 1)) + "=",  # padded: not our spelling
        encode_cursor(Position("2026-12-05T10:00:00.123Z", 1)) + "A",
        "MjAyNi0xMi0wNVQxMDowMDowMC4xMjNafDA",  # "...|0": seq starts at 1
        "eHx5",  # "x|y"
        "A" * 65,
    ],
)
def test_anything_we_did_not_write_is_refused(cursor):
    assert decode_cursor(cursor) is None
