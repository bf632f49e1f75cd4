defmodule Gtd.RruleTest do
  use ExUnit.Case, async: true

  alias Gtd.Rrule

  defp rule(text) do
    {:ok, rule} = Rrule.parse(text)
    rule
  end

  defp next(text, date), do: text |> rule() |> Rrule.next(Date.from_iso8601!(date)) |> Date.to_iso8601()

  describe "parse and canonical" do
    test "the spec's example is served in canonical order" do
      assert "BYDAY=WE,MO;INTERVAL=1;FREQ=WEEKLY" |> rule() |> Rrule.canonical() == "FREQ=WEEKLY;BYDAY=MO,WE"
    end

    test "INTERVAL other than 1 is kept, after FREQ" do
      assert "INTERVAL=3;FREQ=DAILY" |> rule() |> Rrule.canonical() == "FREQ=DAILY;INTERVAL=3"
    end

    test "BYMONTHDAY comes last" do
      assert "BYMONTHDAY=31;INTERVAL=2;FREQ=MONTHLY" |> rule() |> Rrule.canonical() ==
               "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=31"
    end

    test "every FREQ alone is accepted" do
      for freq <- ~w(DAILY WEEKLY MONTHLY YEARLY), do: assert(Rrule.canonical(rule("FREQ=" <> freq)) == "FREQ=" <> freq)
    end

    for {bad, index} <-
          Enum.with_index([
            "",
            "INTERVAL=2",
            "FREQ=HOURLY",
            "freq=DAILY",
            "FREQ=daily",
            "FREQ=DAILY;",
            "FREQ=DAILY;;INTERVAL=2",
            "FREQ=DAILY;FREQ=DAILY",
            "FREQ=DAILY;COUNT=3",
            "FREQ=DAILY;UNTIL=20270101",
            "FREQ=WEEKLY;WKST=MO",
            "FREQ=MONTHLY;BYSETPOS=1",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=DAILY;INTERVAL=366",
            "FREQ=DAILY;INTERVAL=01",
            "FREQ=DAILY;INTERVAL=+1",
            "FREQ=DAILY;BYDAY=MO",
            "FREQ=WEEKLY;BYDAY=",
            "FREQ=WEEKLY;BYDAY=MO,MO",
            "FREQ=WEEKLY;BYDAY=1MO",
            "FREQ=WEEKLY;BYDAY=MO,",
            "FREQ=WEEKLY;BYMONTHDAY=1",
            "FREQ=MONTHLY;BYMONTHDAY=0",
            "FREQ=MONTHLY;BYMONTHDAY=32",
            "FREQ=MONTHLY;BYMONTHDAY=1,2",
            "FREQ=DAILY" <> String.duplicate(";INTERVAL=1", 9) <> "X",
            "FREQ"
          ]) do
      test "refuses rule ##{index} (#{inspect(bad)})" do
        assert Rrule.parse(unquote(bad)) == :error
      end
    end

    test "refuses a rule over 100 characters" do
      assert Rrule.parse("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;INTERVAL=2" <> String.duplicate(" ", 60)) == :error
    end

    test "refuses a value that is not a string" do
      assert Rrule.parse({:number, "1"}) == :error
    end
  end

  describe "next" do
    test "DAILY adds INTERVAL days" do
      assert next("FREQ=DAILY;INTERVAL=3", "2026-12-30") == "2027-01-02"
    end

    test "WEEKLY without BYDAY adds 7 * INTERVAL days" do
      assert next("FREQ=WEEKLY;INTERVAL=2", "2026-12-02") == "2026-12-16"
    end

    test "WEEKLY with BYDAY takes the next listed day in the same week" do
      assert next("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-02") == "2026-12-04"
    end

    test "WEEKLY with BYDAY moves to the first listed day of the next week" do
      assert next("FREQ=WEEKLY;BYDAY=MO,FR", "2026-12-04") == "2026-12-07"
    end

    test "WEEKLY with BYDAY and INTERVAL=2 skips a week" do
      assert next("FREQ=WEEKLY;BYDAY=MO,FR;INTERVAL=2", "2026-12-04") == "2026-12-14"
    end

    test "WEEKLY with BYDAY on Sunday anchors on that Monday-based week" do
      assert next("FREQ=WEEKLY;BYDAY=SU", "2026-12-06") == "2026-12-13"
    end

    test "MONTHLY clamps the 31st to the end of February" do
      assert next("FREQ=MONTHLY", "2026-01-31") == "2026-02-28"
    end

    test "MONTHLY clamps to 29 February in a leap year" do
      assert next("FREQ=MONTHLY", "2028-01-31") == "2028-02-29"
    end

    test "MONTHLY with BYMONTHDAY later in the anchor's month stays in that month" do
      assert next("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-05") == "2026-01-20"
    end

    test "MONTHLY with BYMONTHDAY already passed moves to the next month" do
      assert next("FREQ=MONTHLY;BYMONTHDAY=20", "2026-01-25") == "2026-02-20"
    end

    test "MONTHLY with BYMONTHDAY=31 in a 30-day month's last day moves on" do
      assert next("FREQ=MONTHLY;BYMONTHDAY=31", "2026-11-30") == "2026-12-31"
    end

    test "MONTHLY with BYMONTHDAY=31 before the end of a short month takes its last day" do
      assert next("FREQ=MONTHLY;BYMONTHDAY=31", "2026-02-10") == "2026-02-28"
    end

    test "MONTHLY with INTERVAL crosses the year" do
      assert next("FREQ=MONTHLY;INTERVAL=3", "2026-11-15") == "2027-02-15"
    end

    test "YEARLY keeps month and day" do
      assert next("FREQ=YEARLY", "2026-03-15") == "2027-03-15"
    end

    test "YEARLY from 29 February lands on 28 February" do
      assert next("FREQ=YEARLY", "2028-02-29") == "2029-02-28"
    end

    test "YEARLY with INTERVAL=4 from 29 February keeps the 29th" do
      assert next("FREQ=YEARLY;INTERVAL=4", "2028-02-29") == "2032-02-29"
    end
  end
end
