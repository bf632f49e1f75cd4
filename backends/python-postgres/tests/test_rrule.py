"""The RRULE subset: what parses, its canonical form, and next(anchor) with the spec's examples and edges."""

import pytest

from gtd_pg.rrule import Rule, next_date, parse_rule


def canonical(text: str) -> str:
    rule = parse_rule(text)
    assert rule is not None, text
    return rule.canonical()


@pytest.mark.parametrize(
    ("text", "served"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("BYDAY=WE,MO;INTERVAL=1;FREQ=WEEKLY", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("INTERVAL=2;FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31"),
        ("FREQ=YEARLY;INTERVAL=365", "FREQ=YEARLY;INTERVAL=365"),
        ("FREQ=WEEKLY;BYDAY=SU,SA,FR,TH,WE,TU,MO", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"),
    ],
)
def test_rules_in_the_subset_are_served_in_canonical_form(text, served):
    assert canonical(text) == served


@pytest.mark.parametrize(
    "text",
    [
        "",
        "INTERVAL=2",  # no FREQ
        "FREQ=HOURLY",
        "freq=DAILY",
        "FREQ=daily",
        "FREQ=DAILY;",  # trailing ;
        "FREQ=DAILY;;INTERVAL=2",
        "FREQ=DAILY;FREQ=DAILY",
        "FREQ=DAILY;COUNT=3",
        "FREQ=DAILY;UNTIL=20260101",
        "FREQ=WEEKLY;WKST=MO",
        "FREQ=MONTHLY;BYSETPOS=1",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=366",
        "FREQ=DAILY;INTERVAL=01",
        "FREQ=DAILY;INTERVAL=+1",
        "FREQ=DAILY;BYDAY=MO",  # BYDAY only with WEEKLY
        "FREQ=WEEKLY;BYDAY=",
        "FREQ=WEEKLY;BYDAY=MO,MO",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=WEEKLY;BYDAY=mo",
        "FREQ=WEEKLY;BYMONTHDAY=3",  # BYMONTHDAY only with MONTHLY
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTHDAY=1,2",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ",
        "FREQ=DAILY ",
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;INTERVAL=2" + "0" * 60,  # over 100 characters
    ],
)
def test_anything_outside_the_subset_is_refused(text):
    assert parse_rule(text) is None


def next_of(text: str, anchor: str) -> str:
    rule = parse_rule(text)
    assert rule is not None
    return next_date(rule, anchor)


@pytest.mark.parametrize(
    ("rule", "anchor", "expected"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-02", "2026-12-04"),  # Wed -> Fri of the same week
        ("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-04", "2026-12-07"),  # Fri -> next Monday
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", "2026-12-04", "2026-12-14"),
        ("FREQ=MONTHLY", "2026-01-31", "2026-02-28"),
        ("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-05", "2026-01-20"),
        ("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-25", "2026-02-20"),
    ],
)
def test_next_gives_the_spec_examples(rule, anchor, expected):
    assert next_of(rule, anchor) == expected


def test_daily_adds_the_interval_across_a_year_end():
    assert next_of("FREQ=DAILY;INTERVAL=3", "2026-12-30") == "2027-01-02"


def test_weekly_without_byday_adds_whole_weeks():
    assert next_of("FREQ=WEEKLY;INTERVAL=2", "2026-12-30") == "2027-01-13"


def test_weekly_on_a_listed_sunday_goes_to_the_next_week():
    assert next_of("FREQ=WEEKLY;BYDAY=SU", "2026-12-06") == "2026-12-13"


def test_weekly_on_the_anchor_day_itself_is_not_the_next_date():
    assert next_of("FREQ=WEEKLY;BYDAY=WE", "2026-12-02") == "2026-12-09"


def test_monthly_clamps_to_a_leap_february():
    assert next_of("FREQ=MONTHLY", "2028-01-31") == "2028-02-29"


def test_monthly_on_the_31st_lands_on_the_30th_of_a_short_month():
    assert next_of("FREQ=MONTHLY;BYMONTHDAY=31", "2026-10-31") == "2026-11-30"


def test_monthly_bymonthday_later_in_a_short_month_is_clamped_in_that_month():
    # min(31, 30) = 30 > 15: the 30th of this month.
    assert next_of("FREQ=MONTHLY;BYMONTHDAY=31", "2026-11-15") == "2026-11-30"


def test_monthly_bymonthday_clamped_to_the_anchor_day_moves_to_the_next_month():
    # min(31, 30) = 30 is not after the 30th: next month, 31 Dec.
    assert next_of("FREQ=MONTHLY;BYMONTHDAY=31", "2026-11-30") == "2026-12-31"


def test_monthly_interval_crosses_the_year():
    assert next_of("FREQ=MONTHLY;INTERVAL=3", "2026-11-30") == "2027-02-28"


def test_yearly_from_29_february_falls_on_28_february():
    assert next_of("FREQ=YEARLY", "2028-02-29") == "2029-02-28"


def test_yearly_from_29_february_keeps_it_in_a_leap_year():
    assert next_of("FREQ=YEARLY;INTERVAL=4", "2028-02-29") == "2032-02-29"


def test_a_date_past_year_9999_is_a_value_error():
    with pytest.raises(ValueError):
        next_date(Rule("DAILY"), "9999-12-31")
