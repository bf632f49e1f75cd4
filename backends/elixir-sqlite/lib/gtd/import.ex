defmodule Gtd.Import do
  @moduledoc """
  POST /import's document, validated in the request's process (the expensive
  part: 10,000 items) before the store is called. What needs the store
  (project_id and blocked_by naming stored rows, cycles on the merged graph,
  which rows are newer) is checked by `Gtd.Store.import/1` inside its write
  transaction. Errors are reported at the first violation in document order:
  the top level, then projects, then tasks, each member by member.
  """
  alias Gtd.{ApiError, Validation}

  @members ~w(version projects tasks exported_at)
  @version 2

  @typedoc "What the store needs: valid items (tasks up to the first invalid one), the ids, the pending error."
  @type document :: %{
          projects: [map()],
          tasks: [map()],
          project_ids: MapSet.t(String.t()),
          task_ids: MapSet.t(String.t()),
          pending: {String.t(), String.t()} | nil
        }

  @doc """
  The document checked for everything that needs no store. Raises the first
  error that cannot be preceded by a reference error (the top level, the
  projects); the first invalid task instead becomes `pending`, since a
  reference error in an earlier task comes first.
  """
  @spec parse(Gtd.Json.value()) :: document()
  def parse({:object, pairs}) do
    for key <- Validation.js_key_order(Enum.map(pairs, &elem(&1, 0))), key not in @members do
      raise ApiError.invalid(key, "unknown member '#{key}' in an import document")
    end

    body = Map.new(pairs)
    version!(Map.get(body, "version"))
    projects = array!(body, "projects")
    tasks = array!(body, "tasks")

    if Map.has_key?(body, "exported_at") and not is_binary(body["exported_at"]),
      do: raise(ApiError.invalid("exported_at", "exported_at must be a timestamp string"))

    projects = parse_projects(projects)
    {tasks, pending} = parse_tasks(tasks)

    %{
      projects: projects,
      tasks: tasks,
      project_ids: MapSet.new(projects, & &1["id"]),
      task_ids: task_ids(Map.get(body, "tasks")),
      pending: pending
    }
  end

  def parse(_body), do: raise(ApiError.invalid(nil, "an import document must be a JSON object"))

  defp version!({:number, text}) do
    case number(text) do
      @version -> :ok
      :infinity -> raise newer(text)
      n when is_number(n) and n > @version -> raise newer(text)
      _ -> raise invalid_version()
    end
  end

  defp version!(_value), do: raise(invalid_version())

  defp newer(text), do: ApiError.invalid("version", "this document comes from a newer version (#{text}) of the app")

  defp invalid_version, do: ApiError.invalid("version", "version must be #{@version}")

  # A JSON number's value as JSON.parse reads it (2.0 and 2e0 are 2; too large is infinity).
  defp number(text) do
    case Integer.parse(text) do
      {n, ""} ->
        n

      _ ->
        case Float.parse(text) do
          {f, ""} -> if f == Float.round(f) and abs(f) < 1.0e15, do: trunc(f), else: f
          _ -> if String.starts_with?(text, "-"), do: :negative_infinity, else: :infinity
        end
    end
  rescue
    ArgumentError -> if String.starts_with?(text, "-"), do: :negative_infinity, else: :infinity
  end

  defp array!(body, name) do
    case Map.fetch(body, name) do
      {:ok, list} when is_list(list) -> list
      {:ok, _} -> raise ApiError.invalid(name, "#{name} must be an array")
      :error -> raise ApiError.invalid(name, "#{name} is required")
    end
  end

  defp parse_projects(items) do
    items
    |> Enum.with_index()
    |> Enum.map_reduce(MapSet.new(), fn {item, i}, seen ->
      project = Validation.parse_import_project(item, "projects[#{i}]")
      {project, unique!(seen, project["id"], "projects[#{i}].id")}
    end)
    |> elem(0)
  end

  # Valid tasks up to the first invalid one, and that one's error.
  defp parse_tasks(items) do
    items
    |> Enum.with_index()
    |> Enum.reduce_while({[], MapSet.new()}, fn {item, i}, {tasks, seen} ->
      try do
        task = Validation.parse_import_task(item, "tasks[#{i}]")
        {:cont, {[task | tasks], unique!(seen, task["id"], "tasks[#{i}].id")}}
      rescue
        error in ApiError -> {:halt, {tasks, {error.field, error.message}}}
      end
    end)
    |> case do
      {tasks, {field, message}} when is_binary(field) -> {Enum.reverse(tasks), {field, message}}
      {tasks, _seen} -> {Enum.reverse(tasks), nil}
    end
  end

  defp unique!(seen, id, field) do
    if MapSet.member?(seen, id), do: raise(ApiError.invalid(field, "id appears twice in the document"))
    MapSet.put(seen, id)
  end

  # Every task id the document holds (valid UUIDs), for blocked_by pointing forward in the array.
  defp task_ids(items) do
    for {:object, pairs} <- items,
        id = :proplists.get_value("id", pairs),
        Validation.uuid?(id),
        into: MapSet.new(),
        do: String.downcase(id)
  end
end
