defmodule Gtd.StoreV2Test do
  # Contract v2 in the store (one registered store per VM: not async).
  use ExUnit.Case, async: false

  alias Gtd.Store

  @migrations Path.expand("../shared/migrations", Gtd.Settings.backend_dir())

  setup do
    dir = Path.join(System.tmp_dir!(), "gtd-store-v2-test-#{System.unique_integer([:positive])}")
    clock = start_supervised!({Agent, fn -> 1_780_000_000_000 end})
    now = fn -> Gtd.Clock.format(Agent.get(clock, & &1)) end
    start_supervised!({Store, path: Path.join(dir, "gtd.db"), migrations: @migrations, now: now})
    on_exit(fn -> File.rm_rf!(dir) end)
    %{clock: clock}
  end

  defp advance(clock, ms), do: Agent.update(clock, &(&1 + ms))

  defp field({:object, pairs}, name), do: :proplists.get_value(name, pairs)

  defp create(fields) do
    {:created, text} = Store.create(:tasks, Map.put_new(fields, "title", "t"), nil)
    {:ok, row} = Gtd.Json.parse(text)
    row
  end

  defp id(fields), do: field(create(fields), "id")

  defp patch(id, fields, today \\ nil) do
    {:ok, row, next_id} = Store.update_task(id, fields, today)
    {row, next_id}
  end

  defp get(id), do: Store.get(:tasks, id)

  defp ids(filter), do: filter |> Store.list_tasks() |> elem(0) |> Enum.map(&field(&1, "id"))

  describe "completed_at" do
    test "is set when a task is created done" do
      assert field(create(%{"status" => "done"}), "completed_at") == field(create(%{}), "created_at")
    end

    test "is set by the PATCH that completes a task", %{clock: clock} do
      task = id(%{})
      advance(clock, 10)
      {row, _} = patch(task, %{"status" => "done"})
      assert field(row, "completed_at") == field(row, "updated_at")
    end

    test "is cleared when a task is reopened" do
      task = id(%{"status" => "done"})
      {row, _} = patch(task, %{"status" => "next"})
      assert field(row, "completed_at") == :null
    end

    test "is kept by a PATCH that leaves a task done", %{clock: clock} do
      task = create(%{"status" => "done"})
      advance(clock, 10)
      {row, _} = patch(field(task, "id"), %{"title" => "renamed", "status" => "done"})
      assert field(row, "completed_at") == field(task, "completed_at")
    end
  end

  describe "dependencies" do
    test "a task is blocked while a blocker is open" do
      blocker = id(%{})
      assert field(create(%{"blocked_by" => [blocker]}), "blocked") == true
    end

    test "completing the blocker unblocks without changing the blocked task's updated_at", %{clock: clock} do
      blocker = id(%{})
      task = create(%{"blocked_by" => [blocker]})
      advance(clock, 10)
      patch(blocker, %{"status" => "done"})
      after_ = get(field(task, "id"))
      assert {field(after_, "blocked"), field(after_, "updated_at")} == {false, field(task, "updated_at")}
    end

    test "a done task is never blocked" do
      assert field(create(%{"blocked_by" => [id(%{})], "status" => "done"}), "blocked") == false
    end

    test "blocked_by is served sorted" do
      [a, b] = Enum.sort([id(%{}), id(%{})])
      assert field(create(%{"blocked_by" => [b, a]}), "blocked_by") == [a, b]
    end

    test "deleting a blocker removes it from blocked_by without changing updated_at" do
      blocker = id(%{})
      task = create(%{"blocked_by" => [blocker]})
      Store.delete(:tasks, blocker)
      after_ = get(field(task, "id"))
      assert {field(after_, "blocked_by"), field(after_, "updated_at")} == {[], field(task, "updated_at")}
    end

    test "a missing blocker is refused on blocked_by" do
      assert {:error, {:invalid, "blocked_by", _}} =
               Store.create(:tasks, %{"title" => "t", "blocked_by" => [Store.uuid4()]}, nil)
    end

    test "a task cannot block itself" do
      task = id(%{})
      assert {:error, {:invalid, "blocked_by", _}} = Store.update_task(task, %{"blocked_by" => [task]}, nil)
    end

    test "a blocker named twice is refused" do
      blocker = id(%{})

      assert {:error, {:invalid, "blocked_by", _}} =
               Store.create(:tasks, %{"title" => "t", "blocked_by" => [blocker, blocker]}, nil)
    end

    test "a cycle through another task is refused" do
      a = id(%{})
      b = id(%{"blocked_by" => [a]})
      c = id(%{"blocked_by" => [b]})
      assert {:error, {:invalid, "blocked_by", _}} = Store.update_task(a, %{"blocked_by" => [c]}, nil)
    end

    test "the project is checked before blocked_by" do
      fields = %{"title" => "t", "project_id" => Store.uuid4(), "blocked_by" => [Store.uuid4()]}
      assert Store.create(:tasks, fields, nil) == {:error, :no_project}
    end

    test "an empty blocked_by clears the dependencies" do
      task = id(%{"blocked_by" => [id(%{})]})
      {row, _} = patch(task, %{"blocked_by" => []})
      assert {field(row, "blocked_by"), field(row, "blocked")} == {[], false}
    end
  end

  describe "filters" do
    test "a task deferred until today is not deferred any more" do
      task = id(%{"defer_until" => "2026-12-05"})

      assert {ids(%{"deferred" => true, "today" => "2026-12-04"}), ids(%{"deferred" => true, "today" => "2026-12-05"})} ==
               {[task], []}
    end

    test "a done task is never deferred" do
      id(%{"defer_until" => "2099-01-01", "status" => "done"})
      assert ids(%{"deferred" => true, "today" => "2026-12-05"}) == []
    end

    test "available=false is the exact complement of available=true" do
      blocker = id(%{})
      all = [blocker, id(%{"blocked_by" => [blocker]}), id(%{"defer_until" => "2099-01-01"}), id(%{"status" => "done"})]
      available = ids(%{"available" => true})
      assert {available, Enum.sort(available ++ ids(%{"available" => false}))} == {[blocker], Enum.sort(all)}
    end

    test "q matches title or notes, ASCII case-insensitively" do
      a = id(%{"title" => "Call MOM"})
      b = id(%{"notes" => "ask mom"})
      id(%{"title" => "other"})
      assert Enum.sort(ids(%{"q" => "mOm"})) == Enum.sort([a, b])
    end

    test "q folds no non-ASCII letter" do
      id(%{"title" => "Ärger"})
      assert ids(%{"q" => "ärger"}) == []
    end

    test "q treats % and _ as literal characters" do
      percent = id(%{"title" => "100% done"})
      id(%{"title" => "100 x done"})
      assert {ids(%{"q" => "0%"}), ids(%{"q" => "_"})} == {[percent], []}
    end
  end

  describe "paging" do
    test "pages of limit items cover the list in order, then next_cursor is nil" do
      all = for _ <- 1..5, do: id(%{})
      {page1, cursor1} = Store.list_tasks(%{"limit" => 2})
      {page2, cursor2} = Store.list_tasks(%{"limit" => 2, "cursor" => decode(cursor1)})
      {page3, cursor3} = Store.list_tasks(%{"limit" => 2, "cursor" => decode(cursor2)})
      assert Enum.map(page1 ++ page2 ++ page3, &field(&1, "id")) == Enum.reverse(all)
      assert cursor3 == nil
    end

    test "a page that ends exactly at the last item has no next_cursor" do
      for _ <- 1..2, do: id(%{})
      assert {[_, _], nil} = Store.list_tasks(%{"limit" => 2})
    end

    test "a cursor survives deleting its item and creating new ones" do
      [first, second, third] = for _ <- 1..3, do: id(%{})
      {[_], cursor} = Store.list_tasks(%{"limit" => 1})
      Store.delete(:tasks, third)
      id(%{})
      assert ids(%{"cursor" => decode(cursor)}) == [second, first]
    end

    test "project pages work like task pages" do
      for name <- ~w(a b c), do: {:created, _} = Store.create(:projects, %{"name" => name}, nil)
      {[p], cursor} = Store.list_projects(%{"limit" => 1})
      {rest, nil} = Store.list_projects(%{"cursor" => decode(cursor)})
      assert {field(p, "name"), Enum.map(rest, &field(&1, "name"))} == {"c", ["b", "a"]}
    end
  end

  defp decode(cursor) do
    {:ok, position} = Gtd.Cursor.decode(cursor)
    position
  end

  describe "counts" do
    test "each count equals the length of its list" do
      blocker = id(%{"status" => "next"})
      id(%{"status" => "next", "blocked_by" => [blocker]})
      id(%{"status" => "waiting", "defer_until" => "2026-12-09"})
      id(%{"status" => "done"})
      today = "2026-12-05"
      {:object, [{"tasks", {:object, tasks}}, {"projects", _}, {"contexts", _}]} = Store.counts(today)

      expected =
        for status <- ~w(inbox next waiting scheduled someday),
            do: {status, length(ids(%{"status" => status, "deferred" => false, "today" => today}))}

      expected =
        expected ++
          [
            {"done", length(ids(%{"status" => "done"}))},
            {"deferred", length(ids(%{"deferred" => true, "today" => today}))},
            {"blocked", length(ids(%{"blocked" => true}))},
            {"available", length(ids(%{"available" => true, "today" => today}))}
          ]

      assert tasks == expected
    end

    test "project counts are by status" do
      for status <- ~w(active active done), do: Store.create(:projects, %{"name" => "p", "status" => status}, nil)
      {:object, [_, {"projects", projects}, _]} = Store.counts(nil)
      assert projects == {:object, [{"active", 2}, {"someday", 0}, {"done", 1}]}
    end

    defp contexts, do: Store.counts(nil) |> field("contexts")

    test "contexts count the open tasks of each context, spelled as stored" do
      id(%{"context" => "@home", "status" => "next", "defer_until" => "2999-01-01"})
      id(%{"context" => "@home"})
      id(%{"context" => "@HOME", "status" => "waiting"})
      id(%{})
      assert contexts() == {:object, [{"@HOME", 1}, {"@home", 2}]}
    end

    test "a context that only done tasks have is not in the contexts" do
      id(%{"context" => "@office", "status" => "done"})
      id(%{"context" => "@home"})
      assert contexts() == {:object, [{"@home", 1}]}
    end
  end

  test "task_counts are the project's open, done and next tasks" do
    {:created, text} = Store.create(:projects, %{"name" => "p"}, nil)
    {:ok, project} = Gtd.Json.parse(text)
    project_id = field(project, "id")
    for status <- ~w(next next inbox done), do: id(%{"project_id" => project_id, "status" => status})
    counts = Store.get(:projects, project_id) |> field("task_counts")
    assert counts == {:object, [{"open", 3}, {"done", 1}, {"next", 2}]}
  end

  describe "recurring" do
    @weekly {"FREQ=WEEKLY;BYDAY=MO,FR", "due"}

    test "completing creates the next occurrence with the previous status and the same lead time" do
      task = id(%{"status" => "next", "repeat" => @weekly, "due_date" => "2026-12-02", "defer_until" => "2026-11-30"})
      {_, next_id} = patch(task, %{"status" => "done"})
      next = get(next_id)

      assert Enum.map(~w(status due_date defer_until blocked_by completed_at), &field(next, &1)) ==
               ["next", "2026-12-04", "2026-12-02", [], :null]
    end

    test "without a due date the occurrence is deferred to the next date" do
      task = id(%{"repeat" => {"FREQ=DAILY", "due"}, "defer_until" => "2026-12-02"})
      {_, next_id} = patch(task, %{"status" => "done"})
      assert Enum.map(~w(due_date defer_until), &field(get(next_id), &1)) == [:null, "2026-12-03"]
    end

    test "from completion anchors on today" do
      task = id(%{"repeat" => {"FREQ=DAILY;INTERVAL=2", "completion"}, "due_date" => "2026-01-01"})
      {_, next_id} = patch(task, %{"status" => "done"}, "2026-12-05")
      assert field(get(next_id), "due_date") == "2026-12-07"
    end

    test "the PATCH's own due date is the anchor" do
      task = id(%{"repeat" => {"FREQ=MONTHLY", "due"}, "due_date" => "2026-01-01"})
      {_, next_id} = patch(task, %{"status" => "done", "due_date" => "2026-01-31"})
      assert field(get(next_id), "due_date") == "2026-02-28"
    end

    test "without due or defer date, from due anchors on today" do
      task = id(%{"repeat" => {"FREQ=WEEKLY", "due"}})
      {_, next_id} = patch(task, %{"status" => "done"}, "2026-12-05")
      assert field(get(next_id), "defer_until") == "2026-12-12"
    end

    test "completing an already done task creates nothing" do
      task = id(%{"repeat" => @weekly, "due_date" => "2026-12-02"})
      {_, first} = patch(task, %{"status" => "done"})
      {_, again} = patch(task, %{"status" => "done"})
      assert {is_binary(first), again, length(ids(%{}))} == {true, nil, 2}
    end

    test "a task without repeat creates no occurrence" do
      assert {_, nil} = patch(id(%{}), %{"status" => "done"})
    end
  end

  describe "export and import" do
    defp document(projects, tasks),
      do: %{projects: projects, tasks: tasks, project_ids: ids_of(projects), task_ids: ids_of(tasks), pending: nil}

    defp ids_of(items), do: MapSet.new(items, & &1["id"])

    defp item(overrides) do
      Map.merge(
        %{
          "id" => Store.uuid4(),
          "title" => "t",
          "notes" => nil,
          "status" => "inbox",
          "project_id" => nil,
          "context" => nil,
          "due_date" => nil,
          "defer_until" => nil,
          "repeat" => nil,
          "blocked_by" => [],
          "completed_at" => nil,
          "created_at" => "2026-01-01T00:00:00.000Z",
          "updated_at" => "2026-01-01T00:00:00.000Z"
        },
        overrides
      )
    end

    defp counts({:ok, {:object, [{"projects", {:object, p}}, {"tasks", {:object, t}}]}}),
      do: {Enum.map(p, &elem(&1, 1)), Enum.map(t, &elem(&1, 1))}

    test "export lists oldest first without the computed members" do
      first = id(%{})
      second = id(%{})
      {[], tasks} = Store.export()
      assert {Enum.map(tasks, &field(&1, "id")), field(hd(tasks), "blocked")} == {[first, second], :undefined}
    end

    test "an import inserts new items with their own timestamps" do
      task = item(%{"repeat" => {"FREQ=DAILY", "due"}})
      assert counts(Store.import(document([], [task]))) == {[0, 0, 0], [1, 0, 0]}
      assert field(get(task["id"]), "created_at") == "2026-01-01T00:00:00.000Z"
    end

    test "importing the same items again changes nothing" do
      doc = document([], [item(%{})])
      Store.import(doc)
      assert counts(Store.import(doc)) == {[0, 0, 0], [0, 0, 1]}
    end

    test "a newer item replaces the stored one, blocked_by included" do
      blocker = id(%{})
      task = create(%{"blocked_by" => [blocker]})
      newer = item(%{"id" => field(task, "id"), "title" => "new", "updated_at" => "2099-01-01T00:00:00.000Z"})
      assert counts(Store.import(document([], [newer]))) == {[0, 0, 0], [0, 1, 0]}
      assert Enum.map(~w(title blocked_by), &field(get(newer["id"]), &1)) == ["new", []]
    end

    test "an older item leaves the stored one unchanged" do
      task = create(%{"title" => "kept"})
      older = item(%{"id" => field(task, "id"), "title" => "old"})
      Store.import(document([], [older]))
      assert field(get(older["id"]), "title") == "kept"
    end

    test "export, import into an empty store and export again give the same items" do
      blocker = id(%{})
      id(%{"blocked_by" => [blocker], "repeat" => {"FREQ=DAILY", "due"}, "status" => "done"})
      {[], tasks} = Store.export()
      items = Enum.map(tasks, fn {:object, pairs} -> pairs |> Map.new() |> import_item() end)
      for task <- tasks, do: Store.delete(:tasks, field(task, "id"))
      Store.import(document([], items))
      assert Store.export() == {[], tasks}
    end

    defp import_item(served) do
      repeat =
        with {:object, pairs} <- served["repeat"],
             do: {:proplists.get_value("rule", pairs), :proplists.get_value("from", pairs)}

      served
      |> Map.put("repeat", if(repeat == :null, do: nil, else: repeat))
      |> Map.new(fn {k, v} -> {k, if(v == :null, do: nil, else: v)} end)
    end

    test "a missing project is named at the task" do
      assert Store.import(document([], [item(%{}), item(%{"project_id" => Store.uuid4()})])) ==
               {:error, {"tasks[1].project_id", "project_id names no project in the document or the store"}}
    end

    test "a reference error before the pending error wins" do
      doc = %{document([], [item(%{"blocked_by" => [Store.uuid4()]})]) | pending: {"tasks[1].status", "bad"}}
      assert {:error, {"tasks[0].blocked_by", _}} = Store.import(doc)
    end

    test "the pending error is answered when the references before it are fine" do
      doc = %{document([], [item(%{})]) | pending: {"tasks[1].status", "bad"}}
      assert Store.import(doc) == {:error, {"tasks[1].status", "bad"}}
    end

    test "a cycle with a stored task is named at the document's task" do
      stored = id(%{})
      task = item(%{})
      Store.update_task(stored, %{"blocked_by" => []}, nil)
      {:ok, _} = Store.import(document([], [task]))
      Store.update_task(stored, %{"blocked_by" => [task["id"]]}, nil)
      newer = %{task | "blocked_by" => [stored], "updated_at" => "2099-01-01T00:00:00.000Z"}
      assert {:error, {"tasks[1].blocked_by", _}} = Store.import(document([], [item(%{}), newer]))
    end

    test "a refused import writes nothing" do
      Store.import(document([], [item(%{}), item(%{"project_id" => Store.uuid4()})]))
      assert ids(%{}) == []
    end
  end
end
