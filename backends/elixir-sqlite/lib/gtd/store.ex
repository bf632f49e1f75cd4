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
  process reads the whole body before it calls. The one long call is POST
  /import (a 10,000-task merge keeps it ~0.3 s, see bench/import_10k.exs): the
  request process parses and validates the document first, so the store only
  looks up ids, checks references and cycles, and writes in batches.

  Contract v2: `blocked`, `blocked_by` and `task_counts` are subqueries of the
  same SELECT (never one query per row); completing a repeating task writes its
  next occurrence in the PATCH's transaction.

  Supervision: the driver's port process is linked to this one. If either
  dies, the supervisor starts a fresh store, which reopens the file (and
  re-checks the migrations); requests in flight at that moment get a 503
  `database_unavailable` (as does a call that times out), the node keeps serving.
  """
  use GenServer

  alias Gtd.{Clock, Cursor, Graph, Json, Rrule}

  # The served members, in the order they are served (contract v2).
  @task_members ~w(id title notes status project_id context due_date defer_until repeat blocked_by blocked
                   completed_at created_at updated_at)
  @project_members ~w(id name status notes reviewed_on task_counts created_at updated_at)
  # Columns a body may set (repeat is two columns, blocked_by a table).
  @task_writable ~w(title notes status project_id context due_date defer_until)
  @project_writable ~w(name status notes reviewed_on)
  @task_columns ~w(id title notes status project_id context due_date defer_until repeat_rule repeat_from
                   completed_at created_at updated_at)
  @project_columns ~w(id name status notes reviewed_on created_at updated_at)
  @busy_timeout_ms 5000
  @ttl_ms 24 * 60 * 60 * 1000
  @call_timeout_ms 10_000
  # An import of 10,000 tasks is one transaction inside this process.
  @import_timeout_ms 60_000
  # Rows per multi-row INSERT (13 parameters each; SQLite allows 32,766).
  @batch_rows 200
  @db :gtd_sqlite

  # "blocked" and "deferred" as SQL over the task aliased `t`; computed on read, never stored.
  @blocked_sql "(t.status != 'done' AND EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.blocker_id " <>
                 "WHERE d.task_id = t.id AND b.status != 'done'))"
  @deferred_sql "(t.status != 'done' AND t.defer_until IS NOT NULL AND t.defer_until > ?)"
  @task_select "SELECT t.id, t.title, t.notes, t.status, t.project_id, t.context, t.due_date, t.defer_until, " <>
                 "t.repeat_rule, t.repeat_from, " <>
                 "(SELECT group_concat(d.blocker_id) FROM task_dependencies d WHERE d.task_id = t.id), " <>
                 "#{@blocked_sql}, t.completed_at, t.created_at, t.updated_at, t.seq FROM tasks t"
  # task_counts in the same query as the projects (correlated counts over tasks_by_project, no N+1).
  @project_select "SELECT p.id, p.name, p.status, p.notes, p.reviewed_on, " <>
                    "(SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status != 'done'), " <>
                    "(SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'done'), " <>
                    "(SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'next'), " <>
                    "p.created_at, p.updated_at, p.seq FROM projects p"

  @typedoc "A row as an ordered JSON object (member order is the JSON order)."
  @type row :: {:object, [{String.t(), term()}]}
  @typedoc "An Idempotency-Key and the fingerprint of the request that uses it."
  @type idempotency :: %{key: String.t(), fingerprint: String.t()} | nil
  @typedoc "A stored answer: what the first successful request with a key answered."
  @type stored :: %{fingerprint: String.t(), status: pos_integer(), body: String.t()}
  @typedoc "A list page: the rows and the cursor of the next page (nil: no more)."
  @type page :: {[row()], String.t() | nil}
  @typedoc "A refused write: the field and the message of its 422."
  @type invalid :: {:invalid, String.t(), String.t()}

  # -- API --------------------------------------------------------------------------

  @doc "Starts the store: opens `:path` (`\":memory:\"` allowed) and applies the migrations in `:migrations`."
  @spec start_link(keyword()) :: GenServer.on_start()
  def start_link(opts), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)

  @doc "Raises unless the schema can be queried; /health turns a failure into a 503, fast."
  @spec ping(timeout()) :: :ok
  def ping(timeout \\ 2000), do: call(:ping, timeout)

  @doc """
  Tasks matching `filter` (status, project_id, context, deferred, blocked,
  available, q, today, limit, cursor; see Gtd.Validation), newest first.
  """
  @spec list_tasks(map()) :: page()
  def list_tasks(filter), do: call({:list, :tasks, filter})

  @doc "Projects matching `filter` (status, limit, cursor), newest first."
  @spec list_projects(map()) :: page()
  def list_projects(filter), do: call({:list, :projects, filter})

  @doc "One task or project by (lowercase) id, or nil."
  @spec get(:tasks | :projects, String.t()) :: row() | nil
  def get(table, id), do: call({:get, table, id})

  @doc """
  Inserts a task or project from validated `fields`. With `idempotency`, the
  key and the answer (201 and the row as JSON) are stored in the same
  transaction. Returns `{:created, json_text}`, `{:stored, stored}` when the key
  was stored meanwhile (the caller replays it), `{:error, :no_project}` when
  a task's project_id names no project, or `{:error, {:invalid, "blocked_by", message}}`.
  """
  @spec create(:tasks | :projects, map(), idempotency()) ::
          {:created, String.t()} | {:stored, stored()} | {:error, :no_project | invalid()}
  def create(table, fields, idempotency), do: call({:create, table, fields, idempotency})

  @doc "Changes a project's given fields and updated_at; the row, or nil if there is none."
  @spec update(:projects, String.t(), map()) :: row() | nil
  def update(:projects, id, fields), do: call({:update, :projects, id, fields})

  @doc """
  Changes a task's given fields and updated_at, in one transaction with what
  follows from it: completed_at, the new dependencies, and, when the PATCH
  completes a repeating task, its next occurrence. `today` (Date text, nil:
  the clock's UTC date) anchors the occurrence. `{:ok, row, next_id | nil}`,
  nil when there is no such task, or an error as for `create/3`.
  """
  @spec update_task(String.t(), map(), String.t() | nil) ::
          {:ok, row(), String.t() | nil} | nil | {:error, :no_project | invalid()}
  def update_task(id, fields, today), do: call({:update_task, id, fields, today})

  @doc "Deletes a row; false if there was none. A project's tasks are detached, a task leaves every blocked_by."
  @spec delete(:tasks | :projects, String.t()) :: boolean()
  def delete(table, id), do: call({:delete, table, id})

  @doc "The answer stored for `key` within the last 24 h, or nil (never used, or expired)."
  @spec find_key(String.t()) :: stored() | nil
  def find_key(key), do: call({:find_key, key})

  @doc "The sidebar counts (GET /counts) for `today` (nil: the clock's UTC date), as a JSON object."
  @spec counts(String.t() | nil) :: row()
  def counts(today), do: call({:counts, today})

  @doc "Every project and task, oldest first, as GET /export serves them: `{projects, tasks}`."
  @spec export() :: {[row()], [row()]}
  def export, do: call(:export)

  @doc """
  Merges validated import items (Gtd.Import) in one transaction: checks the
  references of `tasks` (in order) against the document and the store, then
  `pending` (the first shape error found after them, or nil), then cycles on
  the merged graph; writes only when all pass. `{:ok, counts}` or
  `{:error, {field, message}}`.
  """
  @spec import(map()) :: {:ok, row()} | {:error, {String.t(), String.t()}}
  def import(document), do: call({:import, document}, @import_timeout_ms)

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

  defp handle({:list, :tasks, filter}, state) do
    {conditions, params} = task_conditions(filter, today(filter["today"], state))
    page(:tasks, conditions, params, filter)
  end

  defp handle({:list, :projects, filter}, _state) do
    {conditions, params} = if Map.has_key?(filter, "status"), do: {["p.status = ?"], [filter["status"]]}, else: {[], []}

    page(:projects, conditions, params, filter)
  end

  defp handle({:get, table, id}, _state), do: get_row(table, id)

  defp handle({:create, table, fields, idempotency}, state) do
    now = state.now.()
    id = state.new_id.()

    transaction(fn ->
      with :ok <- check_project(table, fields["project_id"]),
           :ok <- check_blockers(id, fields["blocked_by"]) do
        case idempotency && find_key(idempotency.key, now) do
          # A concurrent request (or another process on the file) stored this key first.
          stored when is_map(stored) ->
            {:stored, stored}

          _ ->
            insert_new(table, id, fields, now)
            text = get_row(table, id) |> Json.encode() |> IO.iodata_to_binary()
            if idempotency, do: store_key(idempotency, text, now)
            {:created, text}
        end
      end
    end)
  end

  defp handle({:update, :projects, id, fields}, state) do
    used = Enum.filter(@project_writable, &Map.has_key?(fields, &1))
    sets = Enum.map(used, &"#{&1} = ?") ++ ["updated_at = ?"]
    params = Enum.map(used, &null(fields[&1])) ++ [state.now.(), id]
    exec!("UPDATE projects SET #{Enum.join(sets, ", ")} WHERE id = ?", params)
    if :sqlite3.changes(@db) > 0, do: get_row(:projects, id)
  end

  defp handle({:update_task, id, fields, today}, state) do
    now = state.now.()

    transaction(fn ->
      case query!("SELECT #{Enum.join(@task_columns, ", ")} FROM tasks WHERE id = ?", [id]) do
        [] ->
          nil

        [values] ->
          before = task_values(values)

          with :ok <- check_project(:tasks, fields["project_id"]),
               :ok <- check_blockers(id, fields["blocked_by"]),
               :ok <- check_cycle(id, fields["blocked_by"]) do
            next_id = write_update(before, fields, now, today(today, state), state.new_id)
            {:ok, get_row(:tasks, id), next_id}
          end
      end
    end)
  end

  defp handle({:delete, :tasks, id}, _state) do
    transaction(fn ->
      # Explicitly, not through the schema's ON DELETE CASCADE: D1 and other openers may run without foreign keys.
      exec!("DELETE FROM task_dependencies WHERE task_id = ? OR blocker_id = ?", [id, id])
      exec!("DELETE FROM tasks WHERE id = ?", [id])
      :sqlite3.changes(@db) > 0
    end)
  end

  defp handle({:delete, :projects, id}, _state) do
    exec!("DELETE FROM projects WHERE id = ?", [id])
    :sqlite3.changes(@db) > 0
  end

  defp handle({:find_key, key}, state), do: find_key(key, state.now.())

  defp handle({:counts, today}, state) do
    today = today(today, state)
    open_by_status = for status <- ~w(inbox next waiting scheduled someday), do: status

    task_sums =
      Enum.map(open_by_status, &"coalesce(sum(status = '#{&1}' AND NOT deferred), 0)") ++
        [
          "coalesce(sum(status = 'done'), 0)",
          "coalesce(sum(deferred), 0)",
          "coalesce(sum(blocked), 0)",
          "coalesce(sum(status != 'done' AND NOT deferred AND NOT blocked), 0)"
        ]

    [tasks] =
      query!(
        "SELECT #{Enum.join(task_sums, ", ")} FROM " <>
          "(SELECT t.status AS status, #{@deferred_sql} AS deferred, #{@blocked_sql} AS blocked FROM tasks t)",
        [today]
      )

    [projects] =
      query!(
        "SELECT coalesce(sum(status = 'active'), 0), coalesce(sum(status = 'someday'), 0), " <>
          "coalesce(sum(status = 'done'), 0) FROM projects",
        []
      )

    # Open tasks per context, spelled as stored (GROUP BY compares bytes: "@home" and "@HOME" are two keys);
    # ordered so the answer does not depend on the query plan. Rows are {context, n}: already object members.
    contexts =
      query!(
        "SELECT context, count(*) FROM tasks WHERE status != 'done' AND context IS NOT NULL " <>
          "GROUP BY context ORDER BY context",
        []
      )

    task_names = open_by_status ++ ~w(done deferred blocked available)

    {:object,
     [
       {"tasks", {:object, Enum.zip(task_names, Tuple.to_list(tasks))}},
       {"projects", {:object, Enum.zip(~w(active someday done), Tuple.to_list(projects))}},
       {"contexts", {:object, contexts}}
     ]}
  end

  defp handle(:export, _state) do
    # One call of this process: no write can fall between the two reads.
    projects = query!("#{@project_select} ORDER BY p.created_at, p.seq", [])
    tasks = query!("#{@task_select} ORDER BY t.created_at, t.seq", [])
    {Enum.map(projects, &exported(:projects, &1)), Enum.map(tasks, &exported(:tasks, &1))}
  end

  defp handle({:import, document}, _state) do
    transaction(fn ->
      stored_projects = "SELECT id, updated_at FROM projects" |> query!([]) |> Map.new()
      stored_tasks = "SELECT id, updated_at FROM tasks" |> query!([]) |> Map.new()

      with :ok <- check_import_references(document, stored_projects, stored_tasks),
           :ok <- if(document.pending, do: {:error, document.pending}, else: :ok),
           project_plan = plan(document.projects, stored_projects),
           task_plan = plan(document.tasks, stored_tasks),
           :ok <- check_import_cycles(task_plan) do
        write_import(project_plan, task_plan)
        {:ok, {:object, [{"projects", summary(project_plan)}, {"tasks", summary(task_plan)}]}}
      end
    end)
  end

  # -- lists --------------------------------------------------------------------------

  # WHERE conditions for a task filter, in a fixed order (deterministic SQL for the statement cache).
  defp task_conditions(filter, today) do
    deferred = {@deferred_sql, [today]}
    blocked = {@blocked_sql, []}
    available = {"(t.status != 'done' AND NOT #{@deferred_sql} AND NOT #{@blocked_sql})", [today]}

    ~w(status project_id context deferred blocked available q)
    |> Enum.filter(&Map.has_key?(filter, &1))
    |> Enum.map(fn
      "deferred" -> negate(deferred, filter["deferred"])
      "blocked" -> negate(blocked, filter["blocked"])
      "available" -> negate(available, filter["available"])
      "q" -> {"(t.title LIKE ? ESCAPE '\\' OR t.notes LIKE ? ESCAPE '\\')", List.duplicate(like(filter["q"]), 2)}
      column -> {"t.#{column} = ?", [filter[column]]}
    end)
    |> Enum.unzip()
    |> then(fn {conditions, params} -> {conditions, List.flatten(params)} end)
  end

  defp negate(condition, true), do: condition
  defp negate({sql, params}, false), do: {"NOT " <> sql, params}

  # A substring pattern: SQLite's LIKE folds ASCII letters only, which is the contract's rule;
  # %, _ and \ are escaped to stand for themselves.
  defp like(q), do: "%" <> String.replace(q, ["\\", "%", "_"], &("\\" <> &1)) <> "%"

  # One page in list order (newest first): keyset on (created_at, seq), limit + 1 rows to know if more follow.
  defp page(table, conditions, params, filter) do
    {select, alias} = if table == :tasks, do: {@task_select, "t"}, else: {@project_select, "p"}

    {conditions, params} =
      case filter["cursor"] do
        nil ->
          {conditions, params}

        {created_at, seq} ->
          {conditions ++ ["(#{alias}.created_at < ? OR (#{alias}.created_at = ? AND #{alias}.seq < ?))"],
           params ++ [created_at, created_at, seq]}
      end

    where = if conditions == [], do: "", else: " WHERE " <> Enum.join(conditions, " AND ")
    limit = filter["limit"]
    {limit_sql, params} = if limit, do: {" LIMIT ?", params ++ [limit + 1]}, else: {"", params}
    rows = query!("#{select}#{where} ORDER BY #{alias}.created_at DESC, #{alias}.seq DESC#{limit_sql}", params)

    if limit != nil and length(rows) > limit do
      rows = Enum.take(rows, limit)
      last = List.last(rows)

      {Enum.map(rows, &served(table, &1)),
       Cursor.encode({elem(last, tuple_size(last) - 3), elem(last, tuple_size(last) - 1)})}
    else
      {Enum.map(rows, &served(table, &1)), nil}
    end
  end

  defp get_row(table, id) do
    {select, alias} = if table == :tasks, do: {@task_select, "t"}, else: {@project_select, "p"}

    case query!("#{select} WHERE #{alias}.id = ?", [id]) do
      [values] -> served(table, values)
      [] -> nil
    end
  end

  # A row of @task_select / @project_select as the served JSON object.
  defp served(:tasks, values) do
    [
      id,
      title,
      notes,
      status,
      project_id,
      context,
      due,
      defer,
      rule,
      from,
      blockers,
      blocked,
      completed,
      created,
      updated,
      _
    ] = Tuple.to_list(values)

    members = [
      id,
      title,
      notes,
      status,
      project_id,
      context,
      due,
      defer,
      repeat(rule, from),
      blocker_list(blockers),
      blocked == 1,
      completed,
      created,
      updated
    ]

    {:object, Enum.zip(@task_members, members)}
  end

  defp served(:projects, values) do
    [id, name, status, notes, reviewed_on, open, done, next, created, updated, _] = Tuple.to_list(values)
    counts = {:object, [{"open", open}, {"done", done}, {"next", next}]}
    {:object, Enum.zip(@project_members, [id, name, status, notes, reviewed_on, counts, created, updated])}
  end

  # Export items: served rows without the computed members.
  defp exported(:tasks, values), do: drop_member(served(:tasks, values), "blocked")
  defp exported(:projects, values), do: drop_member(served(:projects, values), "task_counts")

  defp drop_member({:object, pairs}, name), do: {:object, List.keydelete(pairs, name, 0)}

  defp repeat(:null, _from), do: :null
  defp repeat(rule, from), do: {:object, [{"rule", rule}, {"from", from}]}

  defp blocker_list(:null), do: []
  defp blocker_list(text), do: text |> String.split(",") |> Enum.sort()

  # Today as Date text: the request's `today`, else the clock's UTC date.
  defp today(nil, state), do: binary_part(state.now.(), 0, 10)
  defp today(today, _state), do: today

  # -- writes ---------------------------------------------------------------------------

  defp insert_new(:tasks, id, fields, now) do
    status = fields["status"] || "inbox"
    {rule, from} = fields["repeat"] || {nil, nil}

    row = [
      id,
      fields["title"],
      fields["notes"],
      status,
      fields["project_id"],
      fields["context"],
      fields["due_date"],
      fields["defer_until"],
      rule,
      from,
      if(status == "done", do: now),
      now,
      now
    ]

    insert_rows("tasks", @task_columns, [row])
    insert_edges(id, fields["blocked_by"] || [])
  end

  defp insert_new(:projects, id, fields, now) do
    row = [id, fields["name"], fields["status"] || "active", fields["notes"], fields["reviewed_on"], now, now]
    insert_rows("projects", @project_columns, [row])
  end

  defp store_key(idempotency, text, now) do
    # Lazy purge: expired keys go whenever a new one is stored, so the table stays bounded
    # (and an expired copy of this very key no longer blocks it).
    exec!("DELETE FROM idempotency_keys WHERE created_at <= ?", [cutoff(now)])

    exec!(
      "INSERT INTO idempotency_keys (key, fingerprint, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
      [idempotency.key, idempotency.fingerprint, 201, text, now]
    )
  end

  # A task's columns as a map (nil for NULL).
  defp task_values(values) do
    @task_columns |> Enum.zip(Tuple.to_list(values)) |> Map.new(fn {k, v} -> {k, if(v == :null, do: nil, else: v)} end)
  end

  # The PATCH itself, its completed_at and dependencies, and the next occurrence when it completes
  # a repeating task (returns that occurrence's id, or nil).
  defp write_update(before, fields, now, today, new_id) do
    {rule, from} = Map.get(fields, "repeat", {before["repeat_rule"], before["repeat_from"]}) || {nil, nil}

    after_ =
      before
      |> Map.merge(Map.take(fields, @task_writable))
      |> Map.merge(%{"repeat_rule" => rule, "repeat_from" => from})

    completing = before["status"] != "done" and after_["status"] == "done"

    completed_at =
      cond do
        completing -> now
        after_["status"] != "done" -> nil
        true -> before["completed_at"]
      end

    used = Enum.filter(@task_writable, &Map.has_key?(fields, &1))
    sets = Enum.map(used, &"#{&1} = ?") ++ ["repeat_rule = ?", "repeat_from = ?", "completed_at = ?", "updated_at = ?"]
    params = Enum.map(used, &fields[&1]) ++ [rule, from, completed_at, now, before["id"]]
    exec!("UPDATE tasks SET #{Enum.join(sets, ", ")} WHERE id = ?", Enum.map(params, &null/1))

    if Map.has_key?(fields, "blocked_by") do
      exec!("DELETE FROM task_dependencies WHERE task_id = ?", [before["id"]])
      insert_edges(before["id"], fields["blocked_by"])
    end

    if completing and rule != nil, do: insert_occurrence(before["status"], after_, today, now, new_id.())
  end

  defp insert_occurrence(status, task, today, now, id) do
    {:ok, rule} = Rrule.parse(task["repeat_rule"])
    {due, defer} = occurrence_dates(rule, task["repeat_from"], task["due_date"], task["defer_until"], today)

    row = [
      id,
      task["title"],
      task["notes"],
      status,
      task["project_id"],
      task["context"],
      due,
      defer,
      task["repeat_rule"],
      task["repeat_from"],
      nil,
      now,
      now
    ]

    insert_rows("tasks", @task_columns, [row])
    id
  end

  @doc """
  The due_date and defer_until of the occurrence that follows a completed
  task (v2 spec §5): anchored on its due date (else defer date, else today)
  or on today; the lead time between defer and due is kept.
  """
  @spec occurrence_dates(Rrule.t(), String.t(), String.t() | nil, String.t() | nil, String.t()) ::
          {String.t() | nil, String.t() | nil}
  def occurrence_dates(rule, from, due, defer, today) do
    anchor = if from == "due", do: due || defer || today, else: today
    next = Rrule.next(rule, Date.from_iso8601!(anchor))

    cond do
      due == nil ->
        {nil, Date.to_iso8601(next)}

      defer == nil ->
        {Date.to_iso8601(next), nil}

      true ->
        lead = Date.diff(Date.from_iso8601!(due), Date.from_iso8601!(defer))
        {Date.to_iso8601(next), next |> Date.add(-lead) |> Date.to_iso8601()}
    end
  end

  defp insert_edges(task_id, blockers),
    do: insert_rows("task_dependencies", ~w(task_id blocker_id), Enum.map(blockers, &[task_id, &1]))

  # Multi-row INSERTs, @batch_rows rows per statement (one driver round trip per batch, not per row).
  defp insert_rows(table, columns, rows, conflict \\ "") do
    row_sql = "(" <> placeholders(length(columns)) <> ")"

    rows
    |> Enum.chunk_every(@batch_rows)
    |> Enum.each(fn chunk ->
      values = Enum.map_join(chunk, ", ", fn _ -> row_sql end)
      params = chunk |> Enum.concat() |> Enum.map(&null/1)
      exec!("INSERT INTO #{table} (#{Enum.join(columns, ", ")}) VALUES #{values}#{conflict}", params)
    end)
  end

  # -- checks ---------------------------------------------------------------------------

  defp check_project(:tasks, id) do
    if project_exists?(id), do: :ok, else: {:error, :no_project}
  end

  defp check_project(:projects, _id), do: :ok

  # blocked_by names existing tasks, not the task itself, none twice.
  defp check_blockers(_id, nil), do: :ok
  defp check_blockers(_id, []), do: :ok

  defp check_blockers(id, blockers) do
    found = query!("SELECT count(*) FROM tasks WHERE id IN (#{placeholders(length(blockers))})", Enum.uniq(blockers))

    cond do
      found != [{length(Enum.uniq(blockers))}] -> invalid_blockers("blocked_by must name existing tasks")
      id in blockers -> invalid_blockers("a task cannot be blocked by itself")
      length(Enum.uniq(blockers)) != length(blockers) -> invalid_blockers("blocked_by must not name a task twice")
      true -> :ok
    end
  end

  # New blockers close a cycle when the task is among their blockers, transitively.
  defp check_cycle(_id, nil), do: :ok
  defp check_cycle(_id, []), do: :ok

  defp check_cycle(id, blockers) do
    sql =
      "WITH RECURSIVE reach(id) AS (SELECT blocker_id FROM task_dependencies WHERE task_id IN " <>
        "(#{placeholders(length(blockers))}) UNION SELECT d.blocker_id FROM task_dependencies d " <>
        "JOIN reach r ON d.task_id = r.id) SELECT 1 FROM reach WHERE id = ? LIMIT 1"

    case query!(sql, blockers ++ [id]) do
      [] -> :ok
      _ -> invalid_blockers("blocked_by would make a dependency cycle")
    end
  end

  defp invalid_blockers(message), do: {:error, {:invalid, "blocked_by", message}}

  # -- import ---------------------------------------------------------------------------

  # Task references in document order: project_id, then blocked_by (existence, self, duplicates).
  defp check_import_references(document, stored_projects, stored_tasks) do
    known_project = &(&1 == nil or MapSet.member?(document.project_ids, &1) or Map.has_key?(stored_projects, &1))
    known_task = &(MapSet.member?(document.task_ids, &1) or Map.has_key?(stored_tasks, &1))

    document.tasks
    |> Enum.with_index()
    |> Enum.find_value(:ok, fn {task, i} ->
      blockers = task["blocked_by"]

      cond do
        not known_project.(task["project_id"]) ->
          {:error, {"tasks[#{i}].project_id", "project_id names no project in the document or the store"}}

        not Enum.all?(blockers, known_task) ->
          {:error, {"tasks[#{i}].blocked_by", "blocked_by must name tasks in the document or the store"}}

        task["id"] in blockers ->
          {:error, {"tasks[#{i}].blocked_by", "a task cannot be blocked by itself"}}

        length(Enum.uniq(blockers)) != length(blockers) ->
          {:error, {"tasks[#{i}].blocked_by", "blocked_by must not name a task twice"}}

        true ->
          nil
      end
    end)
  end

  # [{action, item}] with action :insert (new id), :replace (document newer) or :unchanged.
  defp plan(items, stored) do
    Enum.map(items, fn item ->
      case Map.fetch(stored, item["id"]) do
        :error -> {:insert, item}
        # Timestamps of one fixed pattern compare as text.
        {:ok, updated_at} -> {if(item["updated_at"] > updated_at, do: :replace, else: :unchanged), item}
      end
    end)
  end

  defp summary(plan) do
    counts = Enum.frequencies_by(plan, &elem(&1, 0))

    {:object,
     [{"created", counts[:insert] || 0}, {"updated", counts[:replace] || 0}, {"unchanged", counts[:unchanged] || 0}]}
  end

  # The merged graph: stored edges, with the written tasks' edges replaced by the document's.
  defp check_import_cycles(task_plan) do
    written = for {action, task} <- task_plan, action != :unchanged, do: task

    if Enum.all?(written, &(&1["blocked_by"] == [])) do
      :ok
    else
      stored =
        "SELECT task_id, blocker_id FROM task_dependencies"
        |> query!([])
        |> Enum.group_by(&elem(&1, 0), &elem(&1, 1))

      edges = Enum.reduce(written, stored, &Map.put(&2, &1["id"], &1["blocked_by"]))

      case Graph.first_on_cycle(edges, Enum.map(written, & &1["id"])) do
        nil ->
          :ok

        id ->
          i = Enum.find_index(task_plan, fn {_, task} -> task["id"] == id end)
          {:error, {"tasks[#{i}].blocked_by", "blocked_by would make a dependency cycle"}}
      end
    end
  end

  defp write_import(project_plan, task_plan) do
    projects = for {action, p} <- project_plan, action != :unchanged, do: Enum.map(@project_columns, &p[&1])
    insert_rows("projects", @project_columns, projects, upsert(@project_columns))

    written = for {action, task} <- task_plan, action != :unchanged, do: task

    rows =
      Enum.map(written, fn task ->
        {rule, from} = task["repeat"] || {nil, nil}

        task
        |> Map.merge(%{"repeat_rule" => rule, "repeat_from" => from})
        |> then(&Enum.map(@task_columns, fn c -> &1[c] end))
      end)

    insert_rows("tasks", @task_columns, rows, upsert(@task_columns))

    replaced = for {:replace, task} <- task_plan, do: task["id"]

    for chunk <- Enum.chunk_every(replaced, 500),
        do: exec!("DELETE FROM task_dependencies WHERE task_id IN (#{placeholders(length(chunk))})", chunk)

    edges = for task <- written, blocker <- task["blocked_by"], do: [task["id"], blocker]
    insert_rows("task_dependencies", ~w(task_id blocker_id), edges)
  end

  # An existing id is updated in place (keeping its seq; REPLACE would delete it and cascade).
  defp upsert([_id | columns]) do
    " ON CONFLICT (id) DO UPDATE SET " <> Enum.map_join(columns, ", ", &"#{&1} = excluded.#{&1}")
  end

  # -- helpers --------------------------------------------------------------------------

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

  defp null(nil), do: :null
  defp null(value), do: value

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
