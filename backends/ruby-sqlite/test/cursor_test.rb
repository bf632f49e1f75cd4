# frozen_string_literal: true

require_relative "test_helper"

class CursorTest < Minitest::Test
  def test_round_trips_a_position
    token = Gtd::Cursor.encode("2026-01-02T03:04:05.678Z", 42)
    assert_match(/\A[A-Za-z0-9_-]+\z/, token)
    assert_equal ["2026-01-02T03:04:05.678Z", 42], Gtd::Cursor.decode(token)
  end

  def test_refuses_tokens_it_did_not_write
    ["", "!!", "abc", "MjAy=", Gtd::Cursor.encode("2026-01-02", 1), Gtd::Cursor.encode("2026-01-02T03:04:05.678Z", 0),
     Gtd::Cursor.encode("2026-01-02T03:04:05.678Z", "1x"), "#{Gtd::Cursor.encode('2026-01-02T03:04:05.678Z', 1)}=="]
      .each { |token| assert_nil Gtd::Cursor.decode(token), token }
  end

  def test_refuses_non_strings
    assert_nil Gtd::Cursor.decode(nil)
  end
end
