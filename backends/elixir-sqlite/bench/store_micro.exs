# The store's choice, measured inside one node: microseconds per GTD statement
# through p1_sqlite3 two ways, on a file database seeded like the workload
# (TASKS tasks, 60 % done):
#
#   sql_exec   one call per statement: the driver prepares, steps and finalizes it
#              (what Gtd.Store does)
#   prepared   statements prepared once, then bind / next... / reset per call
#
#   TASKS=1000 ROUNDS=2000 mix run --no-start bench/store_micro.exs
#
# p1_sqlite3 is the only SQLite binding Debian packages for Erlang; Mnesia/DETS
# are not candidates: the contract's shared migrations and database files are SQLite's.

{:ok, _} = Application.ensure_all_started(:sqlite3)
tasks = String.to_integer(System.get_env("TASKS", "1000"))
rounds = String.to_integer(System.get_env("ROUNDS", "2000"))
dir = Path.join(System.tmp_dir!(), "gtd-store-micro-#{System.unique_integer([:positive])}")
File.mkdir_p!(dir)
migrations = Path.expand("../shared/migrations", Gtd.Settings.backend_dir())
{:ok, _} = :sqlite3.open(:micro, file: String.to_charlist(Path.join(dir, "gtd.db")))

for pragma <- ["journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"],
    do: :sqlite3.sql_exec(:micro, "PRAGMA " <> pragma)

{:ok, _} = Gtd.Migrate.run(:micro, migrations)

statuses = List.duplicate("done", 6) ++ ["next", "inbox", "waiting", "someday"]

ids =
  for n <- 1..tasks do
    id = Gtd.Store.uuid4()
    now = Gtd.Clock.now()

    {:rowid, _} =
      :sqlite3.sql_exec(
        :micro,
        "INSERT INTO tasks (id, title, notes, status, project_id, context, due_date, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [id, "Task #{n}", :null, Enum.at(statuses, rem(n, 10)), :null, "@home", :null, now, now]
      )

    id
  end

columns = "id, title, notes, status, project_id, context, due_date, created_at, updated_at"
get_sql = "SELECT #{columns} FROM tasks WHERE id = ?"
list_sql = "SELECT #{columns} FROM tasks WHERE status = ? ORDER BY created_at DESC, seq DESC"
update_sql = "UPDATE tasks SET notes = ?, updated_at = ? WHERE id = ? RETURNING #{columns}"

time = fn label, fun ->
  {micros, _} = :timer.tc(fn -> for n <- 1..rounds, do: fun.(n) end)
  IO.puts("| #{label} | #{Float.round(micros / rounds, 1)} |")
end

exec_get = fn n -> [columns: _, rows: [_]] = :sqlite3.sql_exec(:micro, get_sql, [Enum.at(ids, rem(n, tasks))]) end
exec_list = fn _ -> [columns: _, rows: _] = :sqlite3.sql_exec(:micro, list_sql, ["next"]) end
exec_update = fn n -> :sqlite3.sql_exec(:micro, update_sql, ["n#{n}", Gtd.Clock.now(), Enum.at(ids, rem(n, tasks))]) end

{:ok, get_st} = :sqlite3.prepare(:micro, get_sql)
{:ok, list_st} = :sqlite3.prepare(:micro, list_sql)
{:ok, update_st} = :sqlite3.prepare(:micro, update_sql)

drain = fn drain, st, acc ->
  case :sqlite3.next(:micro, st) do
    :done ->
      :ok = :sqlite3.reset(:micro, st)
      acc

    row when is_tuple(row) ->
      drain.(drain, st, [row | acc])
  end
end

prep_get = fn n ->
  :ok = :sqlite3.bind(:micro, get_st, [Enum.at(ids, rem(n, tasks))])
  [_] = drain.(drain, get_st, [])
end

prep_list = fn _ ->
  :ok = :sqlite3.bind(:micro, list_st, ["next"])
  drain.(drain, list_st, [])
end

prep_update = fn n ->
  :ok = :sqlite3.bind(:micro, update_st, ["n#{n}", Gtd.Clock.now(), Enum.at(ids, rem(n, tasks))])
  drain.(drain, update_st, [])
end

IO.puts("| statement (#{tasks} tasks, #{rounds} rounds) | us per call |")
IO.puts("|---|---|")
time.("get by id, sql_exec", exec_get)
time.("get by id, prepared", prep_get)
time.("list by status, sql_exec", exec_list)
time.("list by status, prepared", prep_list)
time.("update ... RETURNING, sql_exec", exec_update)
time.("update ... RETURNING, prepared", prep_update)
File.rm_rf!(dir)
