defmodule Gtd.Settings do
  @moduledoc """
  Settings, read once from the environment at start-up; a bad value stops
  start-up with exit status 2 and a JSON log line naming the variable.

      PORT            TCP port to listen on (1-65535). Default 3005.
      HOST            Address to bind (IPv4 or IPv6 literal). Default 0.0.0.0 (containers);
                      tests and `make run` use 127.0.0.1.
      DATABASE_URL    file:<path> of the SQLite database; a relative path is relative to
                      backends/elixir-sqlite; file::memory: for a throw-away database.
                      Default file:./data/gtd.db.
      BACKEND_ID      The id /health reports. Default "elixir-sqlite".
      MIGRATIONS_DIR  The shared migrations. Default ../shared/migrations (the Docker image
                      keeps the same layout).
  """
  @enforce_keys [:port, :ip, :database_path, :backend_id, :migrations_dir]
  defstruct [:port, :ip, :database_path, :backend_id, :migrations_dir]

  @type t :: %__MODULE__{
          port: :inet.port_number(),
          ip: :inet.ip_address(),
          database_path: String.t(),
          backend_id: String.t(),
          migrations_dir: String.t()
        }

  # This file is lib/gtd/settings.ex: the backend's folder is two levels up (fixed at compile time).
  @backend_dir Path.expand("../..", __DIR__)

  @doc "The backend's folder, which relative paths are relative to."
  @spec backend_dir() :: String.t()
  def backend_dir, do: @backend_dir

  @doc "Parses the settings from an environment map; `{:error, variable, message}` on a bad value."
  @spec load(%{String.t() => String.t()}) :: {:ok, t()} | {:error, String.t(), String.t()}
  def load(env) do
    with {:ok, port} <- port(Map.get(env, "PORT", "3005")),
         {:ok, ip} <- ip(present(env["HOST"]) || "0.0.0.0"),
         {:ok, path} <- database_path(Map.get(env, "DATABASE_URL", "file:./data/gtd.db")) do
      {:ok,
       %__MODULE__{
         port: port,
         ip: ip,
         database_path: path,
         backend_id: present(env["BACKEND_ID"]) || "elixir-sqlite",
         migrations_dir: Path.expand(present(env["MIGRATIONS_DIR"]) || "../shared/migrations", @backend_dir)
       }}
    end
  end

  defp present(nil), do: nil
  defp present(""), do: nil
  defp present(value), do: value

  defp port(raw) do
    case Integer.parse(raw) do
      {port, ""} when port in 1..65_535 -> {:ok, port}
      _ -> {:error, "PORT", "PORT must be an integer between 1 and 65535, got #{inspect(raw)}"}
    end
  end

  defp ip(raw) do
    case :inet.parse_strict_address(String.to_charlist(raw)) do
      {:ok, ip} -> {:ok, ip}
      {:error, _} -> {:error, "HOST", "HOST must be an IPv4 or IPv6 address, got #{inspect(raw)}"}
    end
  end

  defp database_path("file:" <> path) when path != "" do
    if path == ":memory:", do: {:ok, path}, else: {:ok, Path.expand(path, @backend_dir)}
  end

  defp database_path(raw), do: {:error, "DATABASE_URL", "DATABASE_URL must look like file:<path>, got #{inspect(raw)}"}
end
