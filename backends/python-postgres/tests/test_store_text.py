"""The reversible U+0000 escape for PostgreSQL text."""

import pytest

from gtd_pg.store import ESC, decode_text, encode_text


@pytest.mark.parametrize(
    "value",
    ["", "plain", "a\x00b", "\x00", ESC, ESC + "0", "\x00" + ESC + "0" + ESC + ESC, "🙂\x00🙂", None],
)
def test_round_trip(value):
    encoded = encode_text(value)
    assert encoded is None or "\x00" not in encoded
    assert decode_text(encoded) == value


def test_normal_text_is_stored_as_is():
    assert encode_text("Zähne 🦷 putzen") == "Zähne 🦷 putzen"


def test_escaping_is_injective():
    values = ["\x00", ESC + "0", ESC, ESC + ESC, "0"]
    assert len({encode_text(v) for v in values}) == len(values)
