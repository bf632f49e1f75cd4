# frozen_string_literal: true

require "date"

module Gtd
  # Recurring tasks (contract v2 §5): the RRULE subset (RFC 5545 §3.3.10 value
  # syntax, no "RRULE:" prefix), its canonical form and the date it gives after
  # an anchor. The same rules as backends/shared/src/rrule.ts.
  #
  #   rule = RRule.parse("BYDAY=WE,MO;FREQ=WEEKLY")  # nil when not in the subset
  #   RRule.canonical(rule)                          # "FREQ=WEEKLY;BYDAY=MO,WE"
  #   RRule.next_date(rule, "2026-12-02")            # "2026-12-07"
  module RRule
    # freq: "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY"; interval: 1..365;
    # by_day: weekday numbers (0 = Monday .. 6 = Sunday), ascending, or nil;
    # by_month_day: 1..31 or nil.
    Rule = Struct.new(:freq, :interval, :by_day, :by_month_day, keyword_init: true)

    MAX_LENGTH = 100
    FREQS = %w[DAILY WEEKLY MONTHLY YEARLY].freeze
    NAMES = %w[FREQ INTERVAL BYDAY BYMONTHDAY].freeze
    WEEKDAYS = %w[MO TU WE TH FR SA SU].freeze
    # Decimal without sign or leading zeros; at most 3 digits covers every bound.
    NUMBER_RE = /\A[1-9][0-9]{0,2}\z/
    # Proleptic Gregorian throughout, like JavaScript's Date (Ruby's default
    # switches to the Julian calendar before 1582).
    CALENDAR = Date::GREGORIAN

    module_function

    # The Rule, or nil when text is not in the subset (unknown or repeated name,
    # lowercase, empty part, value out of range, BYDAY without WEEKLY, ...).
    def parse(text)
      return nil unless text.is_a?(String) && text.valid_encoding? && text.length.between?(1, MAX_LENGTH)

      parts = {}
      text.split(";", -1).each do |part|
        name, value = part.split("=", 2)
        return nil if name.nil? || name.empty? || value.nil? || parts.key?(name) || !NAMES.include?(name)

        parts[name] = value
      end
      return nil unless FREQS.include?(parts["FREQ"])

      rule = Rule.new(freq: parts["FREQ"], interval: 1, by_day: nil, by_month_day: nil)
      if parts.key?("INTERVAL")
        rule.interval = bounded(parts["INTERVAL"], 365) or return nil
      end
      if parts.key?("BYDAY")
        return nil unless rule.freq == "WEEKLY"

        days = parts["BYDAY"].split(",", -1).map { |day| WEEKDAYS.index(day) }
        return nil if days.empty? || days.include?(nil) || days.uniq.length != days.length

        rule.by_day = days.sort
      end
      if parts.key?("BYMONTHDAY")
        return nil unless rule.freq == "MONTHLY"

        rule.by_month_day = bounded(parts["BYMONTHDAY"], 31) or return nil
      end
      rule
    end

    def bounded(value, max)
      return nil unless NUMBER_RE.match?(value)

      number = value.to_i
      number <= max ? number : nil
    end

    # The served form: FREQ, INTERVAL (left out when 1), BYDAY in MO..SU order, BYMONTHDAY.
    def canonical(rule)
      parts = ["FREQ=#{rule.freq}"]
      parts << "INTERVAL=#{rule.interval}" unless rule.interval == 1
      parts << "BYDAY=#{rule.by_day.map { |day| WEEKDAYS[day] }.join(',')}" if rule.by_day
      parts << "BYMONTHDAY=#{rule.by_month_day}" if rule.by_month_day
      parts.join(";")
    end

    # The date (YYYY-MM-DD) after anchor (YYYY-MM-DD) that the rule gives (v2 §5 "next(anchor)").
    def next_date(rule, anchor)
      date = Date.iso8601(anchor, CALENDAR)
      result =
        case rule.freq
        when "DAILY" then date + rule.interval
        when "WEEKLY" then next_weekly(rule, date)
        when "MONTHLY" then next_monthly(rule, date)
        else clamped(date.year + rule.interval, date.month, date.day)
        end
      result.iso8601
    end

    def next_weekly(rule, date)
      return date + (7 * rule.interval) unless rule.by_day

      weekday = (date.wday + 6) % 7 # Monday = 0
      later = rule.by_day.find { |day| day > weekday }
      return date + (later - weekday) if later

      monday = date - weekday
      monday + (7 * rule.interval) + rule.by_day.first
    end

    # BYMONTHDAY (or the anchor's day), clamped to the month's length: a bill due
    # "on the 31st" comes on 30 Nov and 28/29 Feb instead of skipping the month.
    def next_monthly(rule, date)
      wanted = rule.by_month_day || date.day
      this_month = [wanted, days_in_month(date.year, date.month)].min
      return Date.new(date.year, date.month, this_month, CALENDAR) if rule.by_month_day && this_month > date.day

      later = date >> rule.interval # same day or the month's last day; only its year and month are used
      clamped(later.year, later.month, wanted)
    end

    def clamped(year, month, day)
      Date.new(year, month, [day, days_in_month(year, month)].min, CALENDAR)
    end

    def days_in_month(year, month)
      Date.new(year, month, -1, CALENDAR).day
    end

    # Whole days from `from` to `to` (both YYYY-MM-DD; negative when `to` is earlier).
    def days_between(from, to)
      (Date.iso8601(to, CALENDAR) - Date.iso8601(from, CALENDAR)).to_i
    end

    # date (YYYY-MM-DD) plus days (may be negative).
    def add_days(date, days)
      (Date.iso8601(date, CALENDAR) + days).iso8601
    end
  end
end
