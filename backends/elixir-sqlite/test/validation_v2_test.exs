defmodule Gtd.ValidationV2Test do
  use ExUnit.Case, async: true

  alias Gtd.{ApiError, Validation}

  @id "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"

  defp task(pairs), do: Validation.parse_task_fields({:object, [{"title", "t"} | pairs]}, :create)

  defp field_of(fun) do
    error = assert_raise ApiError, fun
    assert error.status == 422
    error.field
  end

  defp repeat(pairs), do: {:object, pairs}

  test "repeat is stored as its canonical rule and from" do
    assert task([{"repeat", repeat([{"rule", "BYDAY=WE,MO;FREQ=WEEKLY"}, {"from", "due"}])}])["repeat"] ==
             {"FREQ=WEEKLY;BYDAY=MO,WE", "due"}
  end

  test "repeat null clears it" do
    assert task([{"repeat", :null}])["repeat"] == nil
  end

  test "a repeat without from is refused on repeat" do
    assert field_of(fn -> task([{"repeat", repeat([{"rule", "FREQ=DAILY"}])}]) end) == "repeat"
  end

  test "a repeat with another member is refused on repeat" do
    pairs = [{"rule", "FREQ=DAILY"}, {"from", "due"}, {"count", {:number, "3"}}]
    assert field_of(fn -> task([{"repeat", repeat(pairs)}]) end) == "repeat"
  end

  test "a repeat with an unknown from is refused on repeat" do
    assert field_of(fn -> task([{"repeat", repeat([{"rule", "FREQ=DAILY"}, {"from", "start"}])}]) end) == "repeat"
  end

  test "a repeat with a bad rule is refused on repeat" do
    assert field_of(fn -> task([{"repeat", repeat([{"rule", "FREQ=DAILY;COUNT=2"}, {"from", "due"}])}]) end) == "repeat"
  end

  test "defer_until must be a real date" do
    assert field_of(fn -> task([{"defer_until", "2026-02-29"}]) end) == "defer_until"
  end

  test "blocked_by ids are lowercased" do
    assert task([{"blocked_by", [@id]}])["blocked_by"] == [String.downcase(@id)]
  end

  test "blocked_by null is refused" do
    assert field_of(fn -> task([{"blocked_by", :null}]) end) == "blocked_by"
  end

  test "blocked_by with more than 100 ids is refused" do
    assert field_of(fn -> task([{"blocked_by", List.duplicate(@id, 101)}]) end) == "blocked_by"
  end

  test "blocked_by with a non-UUID is refused" do
    assert field_of(fn -> task([{"blocked_by", ["nope"]}]) end) == "blocked_by"
  end

  test "completed_at in a body is refused by name" do
    assert field_of(fn -> task([{"completed_at", :null}]) end) == "completed_at"
  end

  test "reviewed_on is a writable project date" do
    assert Validation.parse_project_fields({:object, [{"reviewed_on", "2026-12-05"}]}, :update) == %{
             "reviewed_on" => "2026-12-05"
           }
  end

  test "task_counts in a project body is refused by name" do
    body = {:object, [{"name", "p"}, {"task_counts", {:object, []}}]}
    assert field_of(fn -> Validation.parse_project_fields(body, :create) end) == "task_counts"
  end

  describe "list parameters" do
    test "limit is an integer" do
      assert Validation.parse_task_filter([{"limit", "500"}]) == %{"limit" => 500}
    end

    for bad <- ["0", "501", "01", "+5", "5.0", ""] do
      test "limit #{inspect(bad)} is refused" do
        assert field_of(fn -> Validation.parse_task_filter([{"limit", unquote(bad)}]) end) == "limit"
      end
    end

    test "a boolean filter other than true or false is refused" do
      assert field_of(fn -> Validation.parse_task_filter([{"blocked", "1"}]) end) == "blocked"
    end

    test "q over 200 characters is refused" do
      assert field_of(fn -> Validation.parse_task_filter([{"q", String.duplicate("é", 201)}]) end) == "q"
    end

    test "q of 200 code points is accepted" do
      q = String.duplicate("é", 200)
      assert Validation.parse_task_filter([{"q", q}]) == %{"q" => q}
    end

    test "a cursor that was not issued is refused" do
      assert field_of(fn -> Validation.parse_project_filter([{"cursor", "abc"}]) end) == "cursor"
    end

    test "today on a single-row route ignores other parameters" do
      assert Validation.parse_today([{"x", "1"}, {"today", "2026-12-05"}]) == "2026-12-05"
    end

    test "today given twice is refused" do
      assert field_of(fn -> Validation.parse_today([{"today", "2026-12-05"}, {"today", "2026-12-05"}]) end) == "today"
    end
  end
end
