# frozen_string_literal: true

require_relative "test_helper"

# Gtd::RRule: the contract v2 §5 subset, its canonical form and next(anchor).
class RRuleTest < Minitest::Test
  def rule(text) = Gtd::RRule.parse(text) || flunk("#{text} should parse")
  def next_date(text, anchor) = Gtd::RRule.next_date(rule(text), anchor)

  def test_canonical_form_orders_parts_and_days_and_drops_interval_one
    assert_equal "FREQ=WEEKLY;BYDAY=MO,WE", Gtd::RRule.canonical(rule("BYDAY=WE,MO;INTERVAL=1;FREQ=WEEKLY"))
  end

  def test_canonical_form_keeps_interval_and_bymonthday
    assert_equal "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=31", Gtd::RRule.canonical(rule("BYMONTHDAY=31;INTERVAL=3;FREQ=MONTHLY"))
  end

  def test_every_frequency_parses
    %w[DAILY WEEKLY MONTHLY YEARLY].each { |freq| assert_equal freq, rule("FREQ=#{freq}").freq }
  end

  def test_refuses_rules_outside_the_subset
    [
      "", "FREQ=HOURLY", "freq=DAILY", "FREQ=daily", "INTERVAL=2", "FREQ=DAILY;", ";FREQ=DAILY", "FREQ=DAILY;;INTERVAL=2",
      "FREQ=DAILY;FREQ=DAILY", "FREQ=DAILY;COUNT=3", "FREQ=DAILY;UNTIL=20270101", "FREQ=WEEKLY;WKST=MO",
      "FREQ=MONTHLY;BYSETPOS=1", "FREQ=DAILY;INTERVAL=0", "FREQ=DAILY;INTERVAL=366", "FREQ=DAILY;INTERVAL=01",
      "FREQ=DAILY;INTERVAL=+2", "FREQ=DAILY;INTERVAL=", "FREQ=DAILY;BYDAY=MO", "FREQ=WEEKLY;BYDAY=",
      "FREQ=WEEKLY;BYDAY=MO,MO", "FREQ=WEEKLY;BYDAY=1MO", "FREQ=WEEKLY;BYDAY=mo", "FREQ=WEEKLY;BYDAY=MO,",
      "FREQ=WEEKLY;BYMONTHDAY=1", "FREQ=MONTHLY;BYMONTHDAY=0", "FREQ=MONTHLY;BYMONTHDAY=32",
      "FREQ=MONTHLY;BYMONTHDAY=1,2", "FREQ", "FREQ=DAILY=X", "RRULE:FREQ=DAILY", "FREQ=DAILY;#{'X' * 100}"
    ].each { |text| assert_nil Gtd::RRule.parse(text), text }
  end

  def test_refuses_more_than_100_characters
    long = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;INTERVAL=365"
    assert Gtd::RRule.parse(long)
    assert_nil Gtd::RRule.parse("#{long};#{'X' * (101 - long.length - 1)}")
  end

  def test_interval_bounds_are_inclusive
    assert_equal 365, rule("FREQ=DAILY;INTERVAL=365").interval
    assert_equal 31, rule("FREQ=MONTHLY;BYMONTHDAY=31").by_month_day
  end

  def test_daily_adds_interval_days
    assert_equal "2026-03-01", next_date("FREQ=DAILY", "2026-02-28")
    assert_equal "2027-01-02", next_date("FREQ=DAILY;INTERVAL=3", "2026-12-30")
  end

  def test_weekly_without_byday_adds_weeks
    assert_equal "2026-12-16", next_date("FREQ=WEEKLY;INTERVAL=2", "2026-12-02")
  end

  def test_weekly_byday_later_in_the_same_week
    assert_equal "2026-12-04", next_date("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-02")
  end

  def test_weekly_byday_wraps_to_next_week
    assert_equal "2026-12-07", next_date("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-04")
  end

  def test_weekly_byday_with_interval_skips_weeks
    assert_equal "2026-12-14", next_date("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", "2026-12-04")
  end

  def test_weekly_week_starts_on_monday
    # Sunday 2026-12-06 is the last day of the week of Monday 2026-11-30.
    assert_equal "2026-12-07", next_date("FREQ=WEEKLY;BYDAY=MO", "2026-12-06")
    assert_equal "2026-12-13", next_date("FREQ=WEEKLY;BYDAY=SU", "2026-12-06")
  end

  def test_monthly_clamps_to_the_end_of_a_shorter_month
    assert_equal "2026-02-28", next_date("FREQ=MONTHLY", "2026-01-31")
    assert_equal "2028-02-29", next_date("FREQ=MONTHLY", "2028-01-31")
  end

  def test_monthly_bymonthday_later_in_the_same_month
    assert_equal "2026-01-20", next_date("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-05")
  end

  def test_monthly_bymonthday_moves_to_the_next_month
    assert_equal "2026-02-20", next_date("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-25")
  end

  def test_monthly_bymonthday_31_clamps_in_the_anchor_month
    assert_equal "2026-11-30", next_date("FREQ=MONTHLY;BYMONTHDAY=31", "2026-11-15")
  end

  def test_monthly_bymonthday_on_the_clamped_day_moves_on
    assert_equal "2026-12-31", next_date("FREQ=MONTHLY;BYMONTHDAY=31", "2026-11-30")
    assert_equal "2026-03-31", next_date("FREQ=MONTHLY;BYMONTHDAY=31", "2026-02-28")
  end

  def test_monthly_interval_carries_into_the_next_year
    assert_equal "2027-02-28", next_date("FREQ=MONTHLY;INTERVAL=3", "2026-11-30")
  end

  def test_yearly_from_leap_day_clamps_to_feb_28
    assert_equal "2029-02-28", next_date("FREQ=YEARLY", "2028-02-29")
    assert_equal "2032-02-29", next_date("FREQ=YEARLY;INTERVAL=4", "2028-02-29")
  end

  def test_dates_are_proleptic_gregorian
    assert_equal "1500-03-01", next_date("FREQ=DAILY", "1500-02-28")
  end

  def test_day_arithmetic_helpers
    assert_equal(-2, Gtd::RRule.days_between("2026-12-02", "2026-11-30"))
    assert_equal "2026-02-26", Gtd::RRule.add_days("2026-03-01", -3)
  end
end
