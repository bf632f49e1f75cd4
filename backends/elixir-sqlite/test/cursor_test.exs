defmodule Gtd.CursorTest do
  use ExUnit.Case, async: true

  alias Gtd.Cursor

  test "a cursor decodes to the position it was made from" do
    position = {"2026-12-05T10:00:00.123Z", 42}
    assert position |> Cursor.encode() |> Cursor.decode() == {:ok, position}
  end

  test "a cursor is URL-safe text without padding" do
    assert Regex.match?(~r/\A[A-Za-z0-9_-]+\z/, Cursor.encode({"2026-12-05T10:00:00.123Z", 7}))
  end

  for {bad, index} <-
        Enum.with_index([
          "",
          "!!!",
          Base.url_encode64("2026-12-05T10:00:00.123Z", padding: false),
          Base.url_encode64("2026-12-05T10:00:00.123Z|0", padding: false),
          Base.url_encode64("2026-12-05T10:00:00.123Z|-1", padding: false),
          Base.url_encode64("2026-12-05|3", padding: false),
          Base.url_encode64("2026-12-05T10:00:00.123Z|3|4", padding: false),
          Base.url_encode64("2026-12-05T10:00:00.123Z|3")
        ]) do
    test "refuses cursor ##{index}" do
      assert Cursor.decode(unquote(bad)) == :error
    end
  end
end
