defmodule Gtd.TestServer do
  @moduledoc "Starts the store and the listener (the application's children) on a free port and a temporary database."

  @doc "Settings for a test: port 0 (any free port), a database under `dir`."
  @spec settings(Path.t()) :: Gtd.Settings.t()
  def settings(dir) do
    %Gtd.Settings{
      port: 0,
      ip: {127, 0, 0, 1},
      database_path: Path.join(dir, "gtd.db"),
      backend_id: "elixir-sqlite-test",
      migrations_dir: Path.expand("../shared/migrations", Gtd.Settings.backend_dir())
    }
  end

  @doc "http://127.0.0.1:<port> of the running listener."
  @spec base_url() :: String.t()
  def base_url, do: "http://127.0.0.1:#{Gtd.Http.port()}"

  @doc "A request with :httpc: `{status, headers (lowercase names), body}`."
  @spec request(atom(), String.t(), [{String.t(), String.t()}], binary() | nil) ::
          {pos_integer(), [{String.t(), String.t()}], binary()}
  def request(method, path, headers \\ [], body \\ nil) do
    url = String.to_charlist(base_url() <> path)
    headers = Enum.map(headers, fn {name, value} -> {String.to_charlist(name), String.to_charlist(value)} end)

    request =
      if body == nil,
        do: {url, headers},
        else: {url, headers, ~c"application/json", body}

    {:ok, {{_, status, _}, response_headers, response_body}} =
      :httpc.request(method, request, [timeout: 10_000], body_format: :binary)

    {status, Enum.map(response_headers, fn {name, value} -> {to_string(name), to_string(value)} end), response_body}
  end

  @doc "The JSON body of a response, parsed (objects as maps, for assertions)."
  @spec json(binary()) :: term()
  def json(body) do
    {:ok, value} = Gtd.Json.parse(body)
    plain(value)
  end

  defp plain({:object, pairs}), do: Map.new(pairs, fn {key, value} -> {key, plain(value)} end)
  defp plain(list) when is_list(list), do: Enum.map(list, &plain/1)
  defp plain(:null), do: nil
  defp plain(value), do: value

  @doc "Polls `fun` until it returns a truthy value or `deadline_ms` passes; returns the last value."
  @spec eventually((() -> term()), non_neg_integer()) :: term()
  def eventually(fun, deadline_ms \\ 5000) do
    deadline = System.monotonic_time(:millisecond) + deadline_ms
    poll(fun, deadline)
  end

  defp poll(fun, deadline) do
    value =
      try do
        fun.()
      catch
        _, _ -> nil
      end

    if value || System.monotonic_time(:millisecond) > deadline do
      value
    else
      Process.sleep(20)
      poll(fun, deadline)
    end
  end
end
