defmodule Gtd.TextTest do
  use ExUnit.Case, async: true

  alias Gtd.Text

  test "code points count an emoji as one" do
    assert Text.code_points("a🙂é") == 3
  end

  test "blank? uses JavaScript's whitespace, Unicode included" do
    assert Text.blank?(" \t\n\u00a0\u2003\u3000\ufeff")
    refute Text.blank?(" x ")
    assert Text.blank?("")
  end

  test "scrub replaces bytes that are not UTF-8 with U+FFFD" do
    assert Text.scrub(<<?a, 0xFF, ?b>>) == "a\uFFFDb"
  end

  test "percent_decode leaves malformed escapes and decodes plus only when asked" do
    assert Text.percent_decode("%40a%2x+b") == "@a%2x+b"
    assert Text.percent_decode("a+b%20c", plus: true) == "a b c"
  end
end
