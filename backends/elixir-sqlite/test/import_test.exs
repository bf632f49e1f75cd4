defmodule Gtd.ImportTest do
  use ExUnit.Case, async: true

  alias Gtd.{ApiError, Import}

  @p1 "11111111-1111-4111-8111-111111111111"
  @t1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
  @t2 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
  @at "2026-12-05T10:00:00.000Z"

  defp doc(members), do: {:object, members}

  defp document(projects, tasks), do: doc([{"version", {:number, "2"}}, {"projects", projects}, {"tasks", tasks}])

  defp project(overrides \\ []),
    do:
      doc(
        merge([{"id", @p1}, {"name", "P"}, {"status", "active"}, {"created_at", @at}, {"updated_at", @at}], overrides)
      )

  defp task(overrides \\ []),
    do:
      doc(
        merge([{"id", @t1}, {"title", "T"}, {"status", "inbox"}, {"created_at", @at}, {"updated_at", @at}], overrides)
      )

  defp merge(pairs, overrides) do
    Enum.reduce(overrides, pairs, fn
      {key, :absent}, acc ->
        List.keydelete(acc, key, 0)

      {key, value}, acc ->
        if List.keymember?(acc, key, 0), do: List.keyreplace(acc, key, 0, {key, value}), else: acc ++ [{key, value}]
    end)
  end

  defp field_of(body) do
    error = assert_raise ApiError, fn -> Import.parse(body) end
    assert error.status == 422
    error.field
  end

  test "a minimal document gives its items with absent members as null and blocked_by []" do
    parsed = Import.parse(document([project()], [task()]))
    assert [%{"notes" => nil, "reviewed_on" => nil}] = parsed.projects
    assert [%{"blocked_by" => [], "repeat" => nil, "completed_at" => nil}] = parsed.tasks
    assert parsed.pending == nil
  end

  test "ids are lowercased" do
    parsed = Import.parse(document([], [task([{"id", String.upcase(@t1)}])]))
    assert MapSet.to_list(parsed.task_ids) == [@t1]
  end

  test "a body that is not an object names no field" do
    assert field_of([]) == nil
  end

  test "an unknown top-level member is named" do
    assert field_of(doc([{"version", {:number, "2"}}, {"projects", []}, {"tasks", []}, {"extra", 1}])) == "extra"
  end

  test "exported_at is optional and its value ignored" do
    assert Import.parse(doc([{"exported_at", @at}, {"version", {:number, "2"}}, {"projects", []}, {"tasks", []}])).tasks ==
             []
  end

  test "a missing version is named" do
    assert field_of(doc([{"projects", []}, {"tasks", []}])) == "version"
  end

  test "a newer version is refused with a message saying so" do
    error =
      assert_raise ApiError, fn -> Import.parse(doc([{"version", {:number, "3"}}, {"projects", []}, {"tasks", []}])) end

    assert {error.field, error.message =~ "newer"} == {"version", true}
  end

  test "version 2.0 is version 2" do
    assert Import.parse(doc([{"version", {:number, "2.0"}}, {"projects", []}, {"tasks", []}])).tasks == []
  end

  test "a huge version is a newer one" do
    error =
      assert_raise ApiError, fn ->
        Import.parse(doc([{"version", {:number, "1e999"}}, {"projects", []}, {"tasks", []}]))
      end

    assert error.message =~ "newer"
  end

  test "a hugely negative version is not a newer one" do
    error =
      assert_raise ApiError, fn ->
        Import.parse(doc([{"version", {:number, "-1e999"}}, {"projects", []}, {"tasks", []}]))
      end

    assert error.message == "version must be 2"
  end

  test "version 2 written as a string is refused" do
    assert field_of(doc([{"version", "2"}, {"projects", []}, {"tasks", []}])) == "version"
  end

  test "version is checked before projects" do
    assert field_of(doc([{"version", {:number, "1"}}, {"projects", 5}, {"tasks", []}])) == "version"
  end

  test "projects that are not an array are named" do
    assert field_of(doc([{"version", {:number, "2"}}, {"projects", {:object, []}}, {"tasks", []}])) == "projects"
  end

  test "a missing tasks member is named" do
    assert field_of(doc([{"version", {:number, "2"}}, {"projects", []}])) == "tasks"
  end

  test "a project error comes before any task error" do
    assert field_of(document([project(), project([{"id", "x"}, {"name", ""}])], [task([{"status", "x"}])])) ==
             "projects[1].id"
  end

  test "a project's unknown member, such as task_counts, is named with its index" do
    assert field_of(document([project([{"task_counts", {:object, []}}])], [])) == "projects[0].task_counts"
  end

  test "a project id twice in the document is refused at the second" do
    assert field_of(document([project(), project()], [])) == "projects[1].id"
  end

  test "a project item that is not an object is named by its index" do
    assert field_of(document([5], [])) == "projects[0]"
  end

  test "a task's blocked member is refused" do
    parsed = Import.parse(document([], [task([{"blocked", false}])]))
    assert parsed.pending == {"tasks[0].blocked", "unknown or read-only field 'blocked'"}
  end

  test "the first invalid task becomes pending and only the tasks before it are kept" do
    parsed = Import.parse(document([], [task(), task([{"id", @t2}, {"status", "later"}]), task([{"title", ""}])]))
    assert {length(parsed.tasks), parsed.pending |> elem(0)} == {1, "tasks[1].status"}
  end

  test "a missing required task member is pending at that member" do
    assert Import.parse(document([], [task([{"updated_at", :absent}])])).pending |> elem(0) == "tasks[0].updated_at"
  end

  test "a timestamp without milliseconds is refused" do
    assert Import.parse(document([], [task([{"created_at", "2026-12-05T10:00:00Z"}])])).pending |> elem(0) ==
             "tasks[0].created_at"
  end

  test "a timestamp on a day that does not exist is refused" do
    assert Import.parse(document([], [task([{"updated_at", "2026-02-30T10:00:00.000Z"}])])).pending |> elem(0) ==
             "tasks[0].updated_at"
  end

  test "a task's repeat is validated and made canonical" do
    repeat = doc([{"rule", "INTERVAL=1;FREQ=DAILY"}, {"from", "completion"}])

    assert [%{"repeat" => {"FREQ=DAILY", "completion"}}] =
             Import.parse(document([], [task([{"repeat", repeat}])])).tasks
  end

  test "a task id twice in the document is pending at the second" do
    assert Import.parse(document([], [task(), task()])).pending |> elem(0) == "tasks[1].id"
  end

  test "task ids of items after an invalid one are still known for references" do
    parsed = Import.parse(document([], [task([{"status", "x"}]), task([{"id", @t2}])]))
    assert MapSet.member?(parsed.task_ids, @t2)
  end
end
