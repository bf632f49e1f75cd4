defmodule Gtd.StoreTest do
  # One store per VM (a registered process): these tests run one at a time.
  use ExUnit.Case, async: false

  alias Gtd.Store

  @migrations Path.expand("../shared/migrations", Gtd.Settings.backend_dir())

  setup context do
    dir = Path.join(System.tmp_dir!(), "gtd-store-test-#{System.unique_integer([:positive])}")
    clock = start_supervised!({Agent, fn -> 1_780_000_000_000 end})
    now = fn -> Gtd.Clock.format(Agent.get(clock, & &1)) end
    opts = [path: Path.join(dir, "gtd.db"), migrations: @migrations, now: now]
    start_supervised!({Store, opts})
    on_exit(fn -> File.rm_rf!(dir) end)
    Map.merge(context, %{dir: dir, clock: clock})
  end

  defp advance(clock, ms), do: Agent.update(clock, &(&1 + ms))

  defp field({:object, pairs}, name), do: :proplists.get_value(name, pairs)

  defp tasks(filter), do: filter |> Store.list_tasks() |> elem(0)

  defp create_task(fields, idempotency \\ nil) do
    {:created, text} = Store.create(:tasks, fields, idempotency)
    {:ok, row} = Gtd.Json.parse(text)
    row
  end

  test "applies every shared migration and records the version", %{dir: dir} do
    version = length(Gtd.Migrate.files(@migrations))
    assert version >= 2
    {out, 0} = System.cmd("sqlite3", [Path.join(dir, "gtd.db"), "PRAGMA user_version; PRAGMA journal_mode"])
    assert out == "#{version}\nwal\n"
  end

  test "a created task reads back as created, with defaults" do
    task = create_task(%{"title" => "t"})
    assert field(task, "status") == "inbox"
    assert field(task, "notes") == :null
    assert Store.get(:tasks, field(task, "id")) == task
  end

  test "lists are newest first, ties broken by insertion order" do
    ids = for n <- 1..3, do: field(create_task(%{"title" => "t#{n}"}), "id")
    assert Enum.map(tasks(%{}), &field(&1, "id")) == Enum.reverse(ids)
  end

  test "filters combine" do
    create_task(%{"title" => "a", "status" => "next", "context" => "@x"})
    create_task(%{"title" => "b", "status" => "next", "context" => "@y"})
    assert [task] = tasks(%{"status" => "next", "context" => "@x"})
    assert field(task, "title") == "a"
  end

  test "an update changes the given fields and updated_at only", %{clock: clock} do
    task = create_task(%{"title" => "t", "notes" => "n"})
    advance(clock, 5)
    {:ok, updated, nil} = Store.update_task(field(task, "id"), %{"notes" => nil}, nil)
    assert field(updated, "notes") == :null
    assert field(updated, "title") == "t"
    assert field(updated, "updated_at") > field(task, "updated_at")
    assert field(updated, "created_at") == field(task, "created_at")
  end

  test "a task cannot name a missing project" do
    assert Store.create(:tasks, %{"title" => "t", "project_id" => Store.uuid4()}, nil) == {:error, :no_project}
    assert tasks(%{}) == []
  end

  test "deleting a project detaches its tasks without touching their updated_at" do
    {:created, text} = Store.create(:projects, %{"name" => "p"}, nil)
    {:ok, project} = Gtd.Json.parse(text)
    task = create_task(%{"title" => "t", "project_id" => field(project, "id")})
    assert Store.delete(:projects, field(project, "id"))
    after_delete = Store.get(:tasks, field(task, "id"))
    assert field(after_delete, "project_id") == :null
    assert field(after_delete, "updated_at") == field(task, "updated_at")
  end

  test "delete reports whether there was a row" do
    task = create_task(%{"title" => "t"})
    assert Store.delete(:tasks, field(task, "id"))
    refute Store.delete(:tasks, field(task, "id"))
  end

  describe "Idempotency-Key" do
    test "a create with a key stores the key with the answer it gave" do
      {:created, text} = Store.create(:tasks, %{"title" => "t"}, %{key: "k1", fingerprint: "f1"})
      assert Store.find_key("k1") == %{fingerprint: "f1", status: 201, body: text}
    end

    test "a key already stored is returned instead of creating a second row" do
      first = create_task(%{"title" => "t"}, %{key: "k1", fingerprint: "f1"})
      assert {:stored, stored} = Store.create(:tasks, %{"title" => "t"}, %{key: "k1", fingerprint: "f1"})
      assert {:ok, ^first} = Gtd.Json.parse(stored.body)
      assert length(tasks(%{})) == 1
    end

    test "a create that fails stores no key" do
      missing = Store.uuid4()

      assert {:error, :no_project} =
               Store.create(:tasks, %{"title" => "t", "project_id" => missing}, %{key: "k", fingerprint: "f"})

      assert Store.find_key("k") == nil
    end

    test "a key expires 24 h after its first use", %{clock: clock} do
      create_task(%{"title" => "t"}, %{key: "k1", fingerprint: "f1"})
      advance(clock, 24 * 3600 * 1000 - 1)
      assert Store.find_key("k1")
      advance(clock, 1)
      assert Store.find_key("k1") == nil
    end

    test "an expired key can be used again, and expired keys are purged when a key is stored", %{clock: clock, dir: dir} do
      create_task(%{"title" => "t"}, %{key: "old", fingerprint: "f1"})
      create_task(%{"title" => "t"}, %{key: "k1", fingerprint: "f1"})
      advance(clock, 24 * 3600 * 1000)
      create_task(%{"title" => "again"}, %{key: "k1", fingerprint: "f2"})
      assert Store.find_key("k1").fingerprint == "f2"
      {out, 0} = System.cmd("sqlite3", [Path.join(dir, "gtd.db"), "SELECT key FROM idempotency_keys ORDER BY key"])
      assert out == "k1\n"
    end

    test "concurrent creates with one key create exactly one row" do
      results =
        1..20
        |> Enum.map(fn _ ->
          Task.async(fn -> Store.create(:tasks, %{"title" => "race"}, %{key: "race", fingerprint: "f"}) end)
        end)
        |> Enum.map(&Task.await/1)

      assert Enum.count(results, &match?({:created, _}, &1)) == 1
      assert Enum.count(results, &match?({:stored, _}, &1)) == 19
      assert length(tasks(%{})) == 1
    end
  end

  test "a killed store is restarted by its supervisor and serves again" do
    task = create_task(%{"title" => "survives"})
    old = Process.whereis(Store)
    Process.exit(old, :kill)
    restarted = Gtd.TestServer.eventually(fn -> (pid = Process.whereis(Store)) && pid != old && pid end)
    assert is_pid(restarted)
    assert Gtd.TestServer.eventually(fn -> Store.get(:tasks, field(task, "id")) end) == task
  end

  test "ping raises when the schema is gone", %{dir: dir} do
    assert Store.ping() == :ok
    {_, 0} = System.cmd("sqlite3", [Path.join(dir, "gtd.db"), "DROP TABLE tasks"])
    assert_raise Gtd.Store.Error, fn -> Store.ping() end
  end
end
