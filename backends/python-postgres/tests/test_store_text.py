"""The reversible U+0000 escape for PostgreSQL text."""

import pytest

from gtd_pg.store import ESC, _occurrence_dates, ascii_fold, decode_text, encode_text


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


def test_ascii_fold_lowers_a_to_z_only():
    assert ascii_fold("ÄBC ǅ Z") == "Äbc ǅ z"


def test_an_occurrence_past_year_9999_ends_the_series():
    task = {"repeat_rule": "FREQ=YEARLY", "repeat_from": "due", "due_date": "9999-06-01", "defer_until": None}
    assert _occurrence_dates(task, "2026-12-05") is None


def test_an_occurrence_keeps_a_defer_date_after_the_due_date():
    task = {"repeat_rule": "FREQ=DAILY", "repeat_from": "due", "due_date": "2026-12-01", "defer_until": "2026-12-03"}
    assert _occurrence_dates(task, "2026-12-05") == ("2026-12-02", "2026-12-04")


def test_an_occurrence_from_due_without_dates_anchors_on_today():
    task = {"repeat_rule": "FREQ=DAILY", "repeat_from": "due", "due_date": None, "defer_until": None}
    assert _occurrence_dates(task, "2026-12-05") == (None, "2026-12-06")
