defmodule Gtd.Migrate do
  @moduledoc """
  Applies backends/shared/migrations/*.sql (the same files wrangler applies to
  D1 and bun-sqlite's migrate.ts applies) in name order. `PRAGMA user_version`
  records how many have run; each file and its version bump commit together,
  so a database file moves freely between this backend, bun-sqlite and
  ruby-sqlite. A database migrated by newer code (a higher version) is refused.
  """

  @file_name ~r/\A\d{4}_.*\.sql\z/

  @doc "The migration file names in `dir`, in the order they apply."
  @spec files(Path.t()) :: [String.t()]
  def files(dir), do: dir |> File.ls!() |> Enum.filter(&Regex.match?(@file_name, &1)) |> Enum.sort()

  @doc """
  Brings the database (a p1_sqlite3 server) up to date; returns the schema
  version afterwards (= number of files), or `{:error, message}` (too new, or a
  file that fails, which is rolled back).
  """
  @spec run(atom(), Path.t()) :: {:ok, non_neg_integer()} | {:error, String.t()}
  def run(db, dir) do
    names = files(dir)
    [columns: _, rows: [{current}]] = :sqlite3.sql_exec(db, "PRAGMA user_version")

    if current > length(names) do
      {:error, "database schema version #{current} is newer than this code (#{length(names)} migrations)"}
    else
      names
      |> Enum.with_index(1)
      |> Enum.drop(current)
      |> Enum.reduce_while({:ok, current}, fn {name, version}, _ ->
        case apply_file(db, Path.join(dir, name), version) do
          :ok -> {:cont, {:ok, version}}
          {:error, reason} -> {:halt, {:error, "migration #{name} failed: #{reason}"}}
        end
      end)
    end
  end

  defp apply_file(db, path, version) do
    sql = File.read!(path)
    :ok = :sqlite3.sql_exec(db, "BEGIN IMMEDIATE")

    results =
      List.wrap(:sqlite3.sql_exec_script(db, sql)) ++ [:sqlite3.sql_exec(db, "PRAGMA user_version = #{version}")]

    case Enum.find(results, &match?({:error, _, _}, &1)) do
      nil ->
        :ok = :sqlite3.sql_exec(db, "COMMIT")

      {:error, _code, message} ->
        :sqlite3.sql_exec(db, "ROLLBACK")
        {:error, to_string(message)}
    end
  end
end
