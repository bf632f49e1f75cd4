defmodule Gtd.Store do
  @moduledoc """
  All SQL: the same statements as backends/shared/src/store.ts, run by ONE
  process that owns the SQLite connection (processone's p1_sqlite3 driver,
  Debian's erlang-p1-sqlite3).

  Why one process: SQLite has one writer, so writers queue somewhere anyway; a
  GenServer makes that queue explicit and makes every call atomic for this
  node (a create with its Idempotency-Key, a PATCH with its project check)
  without locks. BEGIN IMMEDIATE around multi-statement writes keeps them
  atomic against other processes on the same file (the sqlite3 shell, a second
  instance); busy_timeout covers those. Calls are short (a few statements,
  ~0.1 ms each), so a slow HTTP client never holds the store: the request
  process reads the whole body before it calls.

  Supervision: the driver's port process is linked to this one. If either
  dies, the supervisor starts a fresh store, which reopens the file (and
  re-checks the migrations); requests in flight at that moment get a 503
  `database_unavailable` (as does a call that times out), the node keeps serving.
  """
  use GenServer

  alias Gtd.{Clock, Json}

  @task_columns ~w(id title notes status project_id context due_date created_at updated_at)
  @project_columns ~w(id name status notes created_at updated_at)
  @task_writable ~w(title notes status project_id context due_date)
  @task_filterable ~w(status project_id context)
  @project_writable ~w(name status notes)
  # Newest first; `seq` (insertion order) breaks ties within one millisecond.
  @newest_first "ORDER BY created_at DESC, seq DESC"
  @busy_timeout_ms 5000
  @ttl_ms 24 * 60 * 60 * 1000
  @call_timeout_ms 10_000
  @db :gtd_sqlite

  @typedoc "A row as an ordered JSON object (column order is the JSON order)."
  @type row :: {:object, [{String.t(), term()}]}
  @typedoc "An Idempotency-Key and the fingerprint of the request that uses it."
  @type idempotency :: %{key: String.t(), fingerprint: String.t()} | nil
  @typedoc "A stored answer: what the first successful request with a key answered."
  @type stored :: %{fingerprint: String.t(), status: pos_integer(), body: String.t()}

  # -- API --------------------------------------------------------------------------

  @doc "Starts the store: opens `:path` (`\":memory:\"` allowed) and applies the migrations in `:migrations`."
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)

  @doc "Raises unless the schema can be queried; /health turns a failure into a 503, fast."
  @spec ping(timeout()) :: :ok
  def ping(timeout \\ 2000), do: call(:ping, timeout)

  @doc "Tasks matching `filter` (status/project_id/context), newest first."
  @spec list_tasks(map()) :: [row()]
  def list_tasks(filter), do: call({:list, :tasks, filter})

  @doc "Projects matching `filter` (status), newest first."
  @spec list_projects(map()) :: [row()]
  def list_projects(filter), do: call({:list, :projects, filter})

  @doc "One task or project by (lowercase) id, or nil."
  @spec get(:tasks | :projects, String.t()) :: row() | nil
  def get(table, id), do: call({:get, table, id})

  @doc """
  Inserts a task or project from validated `fields`. With `idempotency`, the
  key and the answer (201 and the row as JSON) are stored in the same
  transaction. Returns `{:created, json_text}`, `{:stored, stored}` when the key
  was stored meanwhile (the caller replays it), or `{:error, :no_project}` when
  a task's project_id names no project.
  """
  @spec create(:tasks | :projects, map(), idempotency()) ::
          {:created, String.t()} | {:stored, stored()} | {:error, :no_project}
  def create(table, fields, idempotency), do: call({:create, table, fields, idempotency})

  @doc "Changes the given fields and updated_at; the row, nil if there is none, or `{:error, :no_project}`."
  @spec update(:tasks | :projects, String.t(), map()) :: row() | nil | {:error, :no_project}
  def update(table, id, fields), do: call({:update, table, id, fields})

  @doc "Deletes a row; false if there was none. A project's tasks are detached (ON DELETE SET NULL)."
  @spec delete(:tasks | :projects, String.t()) :: boolean()
  def delete(table, id), do: call({:delete, table, id})

  @doc "The answer stored for `key` within the last 24 h, or nil (never used, or expired)."
  @spec find_key(String.t()) :: stored() | nil
  def find_key(key), do: call({:find_key, key})

  defp call(message, timeout \\ @call_timeout_ms) do
    case GenServer.call(__MODULE__, message, timeout) do
      {:raise, message} -> raise message
      result -> result
    end
  end

  # -- server -------------------------------------------------------------------------

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)
    path = Keyword.fetch!(opts, :path)
    now = Keyword.get(opts, :now, &Clock.now/0)
    new_id = Keyword.get(opts, :new_id, &uuid4/0)
    await_previous_driver()
    if path != ":memory:", do: File.mkdir_p!(Path.dirname(path))

    with {:ok, _pid} <- :sqlite3.open(@db, file: String.to_charlist(path)),
         :ok <- configure(),
         {:ok, _version} <- Gtd.Migrate.run(@db, Keyword.fetch!(opts, :migrations)) do
      {:ok, %{now: now, new_id: new_id}}
    else
      {:error, reason} ->
        message = if is_binary(reason), do: reason, else: inspect(reason)
        Gtd.Log.error("database cannot be opened or migrated", %{path: path, error: message})
        {:stop, {:database, message}}
    end
  end

  # The driver of a store that was killed dies with it, asynchronously: wait for its name to be free.
  defp await_previous_driver do
    case Process.whereis(@db) do
      nil ->
        :ok

      pid ->
        ref = Process.monitor(pid)
        Process.exit(pid, :kill)

        receive do
          {:DOWN, ^ref, _, _, _} -> :ok
        end
    end
  end

  # WAL journal, foreign keys on (ON DELETE SET NULL detaches tasks), busy timeout, as the other SQLite backends.
  defp configure do
    # busy_timeout first: the connection of a store that just died may still hold a lock for a moment.
    results = [
      :sqlite3.sql_exec(@db, "PRAGMA busy_timeout = #{@busy_timeout_ms}"),
      :sqlite3.sql_exec(@db, "PRAGMA journal_mode = WAL"),
      :sqlite3.sql_exec(@db, "PRAGMA foreign_keys = ON"),
      :sqlite3.sql_exec(@db, "PRAGMA synchronous = NORMAL")
    ]

    case Enum.find(results, &match?({:error, _, _}, &1)) do
      nil -> :ok
      {:error, _code, message} -> {:error, to_string(message)}
    end
  end

  @impl true
  def handle_call(message, _from, state) do
    {:reply, handle(message, state), state}
  rescue
    # A query that fails (the schema dropped under us, the disk full) is the
    # caller's 500 or 503, not this process's crash: the connection is fine.
    error in [Gtd.Store.Error] -> {:reply, {:raise, error}, state}
  end

  @impl true
  def handle_info({:EXIT, _pid, reason}, state), do: {:stop, reason, state}
  def handle_info(_message, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, _state) do
    # Finishes the WAL cleanly; the driver may already be gone.
    if Process.whereis(@db), do: :sqlite3.close(@db)
    :ok
  catch
    _, _ -> :ok
  end

  # -- the statements ---------------------------------------------------------------

  defp handle(:ping, _state) do
    query!("SELECT (SELECT 1 FROM tasks LIMIT 1) AS t, (SELECT 1 FROM projects LIMIT 1) AS p", [])
    :ok
  end

  defp handle({:list, table, filter}, _state) do
    {clause, params} = where(filter, if(table == :tasks, do: @task_filterable, else: ["status"]))
    rows!(table, "SELECT #{columns(table)} FROM #{table} #{clause} #{@newest_first}", params)
  end

  defp handle({:get, table, id}, _state) do
    rows!(table, "SELECT #{columns(table)} FROM #{table} WHERE id = ?", [id]) |> List.first()
  end

  defp handle({:create, table, fields, idempotency}, state) do
    now = state.now.()
    row = new_row(table, fields, state.new_id.(), now)
    {:object, pairs} = row
    insert = "INSERT INTO #{table} (#{columns(table)}) VALUES (#{placeholders(length(pairs))})"
    text = row |> Json.encode() |> IO.iodata_to_binary()

    transaction(fn ->
      cond do
        table == :tasks and not project_exists?(fields["project_id"]) ->
          {:error, :no_project}

        idempotency == nil ->
          exec!(insert, Enum.map(pairs, &elem(&1, 1)))
          {:created, text}

        stored = find_key(idempotency.key, now) ->
          # A concurrent request (or another process on the file) stored this key first.
          {:stored, stored}

        true ->
          cutoff = cutoff(now)
          # Lazy purge: expired keys go whenever a new one is stored, so the table stays bounded
          # (and an expired copy of this very key no longer blocks it).
          exec!("DELETE FROM idempotency_keys WHERE created_at <= ?", [cutoff])

          exec!(
            "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
            [idempotency.key, idempotency.fingerprint, 201, text, now]
          )

          exec!(insert, Enum.map(pairs, &elem(&1, 1)))
          {:created, text}
      end
    end)
  end

  defp handle({:update, table, id, fields}, state) do
    writable = if table == :tasks, do: @task_writable, else: @project_writable
    used = Enum.filter(writable, &Map.has_key?(fields, &1))
    sets = Enum.map(used, &"#{&1} = ?") ++ ["updated_at = ?"]
    params = Enum.map(used, &null(fields[&1])) ++ [state.now.(), id]
    sql = "UPDATE #{table} SET #{Enum.join(sets, ", ")} WHERE id = ? RETURNING #{columns(table)}"

    transaction(fn ->
      if table == :tasks and not project_exists?(fields["project_id"]),
        do: {:error, :no_project},
        else: rows!(table, sql, params) |> List.first()
    end)
  end

  defp handle({:delete, table, id}, _state) do
    exec!("DELETE FROM #{table} WHERE id = ?", [id])
    :sqlite3.changes(@db) > 0
  end

  defp handle({:find_key, key}, state), do: find_key(key, state.now.())

  defp find_key(key, now) do
    case query!("SELECT fingerprint, status, body FROM idempotency_keys WHERE key = ? AND created_at > ?", [
           key,
           cutoff(now)
         ]) do
      [{fingerprint, status, body}] -> %{fingerprint: fingerprint, status: status, body: body}
      [] -> nil
    end
  end

  # created_at at or before this has expired (24 h before now).
  defp cutoff(now), do: Clock.format(Clock.parse!(now) - @ttl_ms)

  defp project_exists?(nil), do: true
  defp project_exists?(id), do: query!("SELECT 1 FROM projects WHERE id = ?", [id]) != []

  defp new_row(:tasks, fields, id, now) do
    {:object,
     [
       {"id", id},
       {"title", Map.fetch!(fields, "title")},
       {"notes", null(fields["notes"])},
       {"status", fields["status"] || "inbox"},
       {"project_id", null(fields["project_id"])},
       {"context", null(fields["context"])},
       {"due_date", null(fields["due_date"])},
       {"created_at", now},
       {"updated_at", now}
     ]}
  end

  defp new_row(:projects, fields, id, now) do
    {:object,
     [
       {"id", id},
       {"name", Map.fetch!(fields, "name")},
       {"status", fields["status"] || "active"},
       {"notes", null(fields["notes"])},
       {"created_at", now},
       {"updated_at", now}
     ]}
  end

  defp null(nil), do: :null
  defp null(value), do: value

  # `WHERE a = ? AND b = ?` from the filter keys that are set, in a fixed column order.
  defp where(filter, filterable) do
    case Enum.filter(filterable, &Map.has_key?(filter, &1)) do
      [] -> {"", []}
      used -> {"WHERE " <> Enum.map_join(used, " AND ", &"#{&1} = ?"), Enum.map(used, &filter[&1])}
    end
  end

  defp columns(:tasks), do: Enum.join(@task_columns, ", ")
  defp columns(:projects), do: Enum.join(@project_columns, ", ")

  defp placeholders(n), do: List.duplicate("?", n) |> Enum.join(", ")

  # BEGIN IMMEDIATE ... COMMIT around `fun`; ROLLBACK if it raises (and re-raise).
  defp transaction(fun) do
    exec!("BEGIN IMMEDIATE", [])

    try do
      result = fun.()
      exec!("COMMIT", [])
      result
    rescue
      error ->
        :sqlite3.sql_exec(@db, "ROLLBACK")
        reraise error, __STACKTRACE__
    end
  end

  defp rows!(table, sql, params) do
    names = if table == :tasks, do: @task_columns, else: @project_columns
    for values <- query!(sql, params), do: {:object, Enum.zip(names, Tuple.to_list(values))}
  end

  defp query!(sql, params) do
    case :sqlite3.sql_exec(@db, sql, params) do
      [columns: _, rows: rows] -> rows
      other -> check!(other, sql)
    end
  end

  defp exec!(sql, params), do: check!(:sqlite3.sql_exec(@db, sql, params), sql)

  defp check!({:error, code, message}, sql), do: raise(Gtd.Store.Error, "#{sql}: #{code} #{message}")

  # With parameters, the driver reports an error met while stepping as a last list element.
  defp check!(result, sql) when is_list(result) do
    case List.keyfind(result, :error, 0) do
      nil -> result
      error -> check!(error, sql)
    end
  end

  defp check!(result, _sql), do: result

  @doc "A random (version 4) UUID, lowercase."
  @spec uuid4() :: String.t()
  def uuid4 do
    <<a::48, _::4, b::12, _::2, c::62>> = :crypto.strong_rand_bytes(16)

    <<p1::binary-8, p2::binary-4, p3::binary-4, p4::binary-4, p5::binary-12>> =
      Base.encode16(<<a::48, 4::4, b::12, 2::2, c::62>>, case: :lower)

    Enum.join([p1, p2, p3, p4, p5], "-")
  end
end

defmodule Gtd.Store.Error do
  @moduledoc "A statement that failed; the message names it (for the log, never for a client)."
  defexception [:message]
end
