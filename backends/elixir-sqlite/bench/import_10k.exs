# POST /import of TASKS tasks (default 10,000) and 50 projects, inside one node:
# how long the request's own process spends on JSON and validation, and how
# long the store process is busy with the one write transaction (what blocks
# every other request meanwhile). Runs twice: into an empty store, then the
# same document again (all unchanged).
#
#   TASKS=10000 mix run --no-start bench/import_10k.exs

{:ok, _} = Application.ensure_all_started(:sqlite3)
{:ok, _} = Application.ensure_all_started(:crypto)
tasks = String.to_integer(System.get_env("TASKS", "10000"))
dir = Path.join(System.tmp_dir!(), "gtd-import-bench-#{System.unique_integer([:positive])}")
migrations = Path.expand("../shared/migrations", Gtd.Settings.backend_dir())
{:ok, _} = Gtd.Store.start_link(path: Path.join(dir, "gtd.db"), migrations: migrations)

at = fn n -> Gtd.Clock.format(1_780_000_000_000 + n) end

projects =
  for n <- 1..50,
      do: %{
        "id" => Gtd.Store.uuid4(),
        "name" => "project #{n}",
        "status" => "active",
        "notes" => nil,
        "reviewed_on" => nil,
        "created_at" => at.(n),
        "updated_at" => at.(n)
      }

ids = for _ <- 1..tasks, do: Gtd.Store.uuid4()

items =
  ids
  |> Enum.with_index()
  |> Enum.map(fn {id, n} ->
    %{
      "id" => id,
      "title" => "task #{n} " <> String.duplicate("x", 60),
      "notes" => "some notes #{n}",
      "status" => Enum.at(~w(inbox next waiting done), rem(n, 4)),
      "project_id" => Enum.at(projects, rem(n, 50))["id"],
      "context" => "@home",
      "due_date" => "2026-12-31",
      "defer_until" => nil,
      "repeat" => if(rem(n, 10) == 0, do: %{"rule" => "FREQ=WEEKLY;BYDAY=MO", "from" => "due"}),
      # every fifth task waits for the one before it
      "blocked_by" => if(rem(n, 5) == 4, do: [Enum.at(ids, n - 1)], else: []),
      "completed_at" => nil,
      "created_at" => at.(1000 + n),
      "updated_at" => at.(1000 + n)
    }
  end)

text = Gtd.Json.encode(%{"version" => 2, "projects" => projects, "tasks" => items}) |> IO.iodata_to_binary()
IO.puts("document: #{tasks} tasks, #{byte_size(text)} bytes")

for round <- ["empty store", "same document again"] do
  {parse_us, document} =
    :timer.tc(fn ->
      {:ok, value} = Gtd.Json.parse(text)
      Gtd.Import.parse(value)
    end)

  {store_us, {:ok, counts}} = :timer.tc(fn -> Gtd.Store.import(document) end)

  IO.puts(
    "#{round}: request process (JSON + validation) #{div(parse_us, 1000)} ms, " <>
      "store process busy #{div(store_us, 1000)} ms, #{IO.iodata_to_binary(Gtd.Json.encode(counts))}"
  )
end

{export_us, {_, exported}} = :timer.tc(fn -> Gtd.Store.export() end)
IO.puts("export: store process busy #{div(export_us, 1000)} ms for #{length(exported)} tasks")
File.rm_rf!(dir)
