defmodule Gtd.Http do
  @moduledoc """
  The HTTP/1.1 server: mochiweb (Debian's erlang-mochiweb 3.1) in front of
  `Gtd.Router`. mochiweb runs an acceptor pool; every accepted connection is
  its own process, which reads a request, calls `handle/1`, and waits for the
  next one on a keep-alive connection. An idle or slow client therefore costs
  one sleeping process (a few KiB) and blocks no one: the store is only
  called once a whole request has arrived.

  This process owns the listener (linked) and stops it gracefully: on
  shutdown it marks the node as draining (responses then carry
  `connection: close`), closes the listening socket, and waits up to
  `drain_ms/0` for the requests in flight to finish.
  """
  use GenServer

  alias Gtd.Router

  @listener :gtd_http
  # The connection processes handling a request right now.
  @busy :gtd_http_busy
  @drain_ms 10_000
  # Connections beyond this wait in the accept backlog: bounded memory under a flood.
  @max_connections 4096
  # A body declared larger than the route's limit is read and dropped up to this size
  # (twice the limit for POST /import's 32 MiB) before the 413.
  @discard_cap_bytes 8 * 1_048_576

  @doc "How long shutdown waits for requests in flight."
  @spec drain_ms() :: pos_integer()
  def drain_ms, do: @drain_ms

  @doc "Starts the listener on the settings' address and port (port 0: any free port, see `port/0`)."
  @spec start_link(Gtd.Settings.t()) :: GenServer.on_start()
  def start_link(settings), do: GenServer.start_link(__MODULE__, settings, name: __MODULE__)

  @doc "The port the listener is bound to."
  @spec port() :: :inet.port_number()
  def port, do: :mochiweb_socket_server.get(@listener, :port)

  @doc """
  Requests being handled right now (for shutdown and tests): the connection
  processes registered as busy that are still alive (a process killed
  mid-request cannot unregister itself, and must not hold up a shutdown).
  """
  @spec in_flight() :: non_neg_integer()
  def in_flight do
    :ets.foldl(fn {pid}, n -> if Process.alive?(pid), do: n + 1, else: n end, 0, @busy)
  end

  @impl true
  def init(settings) do
    Process.flag(:trap_exit, true)
    # Owned by this process: a restarted listener starts with a fresh table (busy/1 copes meanwhile).
    if :ets.whereis(@busy) == :undefined, do: :ets.new(@busy, [:named_table, :public, :set, write_concurrency: true])

    :persistent_term.put({__MODULE__, :draining}, false)
    :persistent_term.put({__MODULE__, :backend_id}, settings.backend_id)
    stop_orphaned_listener()

    options = [
      name: @listener,
      ip: settings.ip,
      port: settings.port,
      loop: &__MODULE__.handle/1,
      acceptor_pool_size: 32,
      max: @max_connections,
      backlog: 1024,
      nodelay: true
    ]

    case :mochiweb_http.start_link(options) do
      {:ok, listener} ->
        Gtd.Log.info("listening", %{port: port(), backend: settings.backend_id})
        {:ok, %{listener: listener}}

      {:error, reason} ->
        Gtd.Log.error("cannot listen", %{port: settings.port, error: inspect(reason)})
        {:stop, reason}
    end
  end

  # A predecessor killed outright (no terminate/2) leaves its listener running
  # under the registered name and bound to the port: stop it before binding again.
  defp stop_orphaned_listener do
    case Process.whereis(@listener) do
      nil ->
        :ok

      pid ->
        ref = Process.monitor(pid)
        :mochiweb_http.stop(@listener)

        receive do
          {:DOWN, ^ref, _, _, _} -> :ok
        end
    end
  end

  @impl true
  def handle_info({:EXIT, listener, reason}, %{listener: listener} = state), do: {:stop, reason, state}
  def handle_info(_message, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, state) do
    Gtd.Log.info("shutting down", %{in_flight: in_flight()})
    :persistent_term.put({__MODULE__, :draining}, true)
    # The listener exits normally: connection processes (not linked to it by a
    # crash reason) keep running and finish their request.
    Process.unlink(state.listener)
    :mochiweb_http.stop(@listener)
    deadline = System.monotonic_time(:millisecond) + @drain_ms
    wait_for_requests(deadline)
    Gtd.Log.info("stopped", %{in_flight: in_flight()})
    :ok
  end

  defp wait_for_requests(deadline) do
    if in_flight() > 0 and System.monotonic_time(:millisecond) < deadline do
      Process.sleep(10)
      wait_for_requests(deadline)
    end
  end

  # -- one request (runs in the connection's process) -----------------------------

  @doc false
  # mochiweb's loop callback.
  def handle(req) do
    busy(:insert)

    try do
      respond(req, response(req))
    after
      busy(:delete)
    end
  end

  # Marks this connection process busy or idle; the table is briefly absent while the listener restarts.
  defp busy(action) do
    if action == :insert, do: :ets.insert(@busy, {self()}), else: :ets.delete(@busy, self())
  rescue
    ArgumentError -> false
  end

  defp response(req) do
    {path, query} = split_target(IO.iodata_to_binary(:mochiweb_request.get(:raw_path, req)))

    request = %Router.Request{
      method: req |> then(&:mochiweb_request.get(:method, &1)) |> to_string(),
      raw_path: path,
      query: query,
      headers: headers(req),
      read_body: fn limit -> read_body(req, limit) end,
      backend_id: :persistent_term.get({__MODULE__, :backend_id})
    }

    Router.call(request)
  rescue
    error ->
      # A bug: the details go to the log, the client sees nothing internal.
      Gtd.Log.error("unhandled error", %{error: Exception.format(:error, error, __STACKTRACE__)})
      internal_error()
  catch
    # The store is restarting (noproc, it crashed mid-call) or hung (timeout):
    # not a bug here, a database that cannot be reached in time.
    :exit, {reason, {GenServer, :call, [Gtd.Store | _]}} ->
      Gtd.Log.error("database unavailable", %{error: inspect(reason)})

      Router.error_response(%Gtd.ApiError{
        status: 503,
        code: "database_unavailable",
        message: "the database cannot be reached right now; retry later"
      })

    # The client went away while we read its body: mochiweb ends the connection process.
    :exit, reason when reason == :normal or (is_tuple(reason) and elem(reason, 0) == :shutdown) ->
      exit(reason)

    :exit, reason ->
      Gtd.Log.error("unhandled error", %{error: Exception.format_exit(reason)})
      internal_error()
  end

  defp internal_error do
    Router.error_response(%Gtd.ApiError{status: 500, code: "internal_error", message: "internal server error"})
  end

  defp split_target(target) do
    case :binary.split(target, "?") do
      [path, query] -> {path, query}
      [path] -> {path, ""}
    end
  end

  # Lowercase names => values. mochiweb joins a repeated header's values with
  # ", "; for Idempotency-Key that join is refused like any value with a space.
  defp headers(req) do
    req
    |> then(&:mochiweb_request.get(:headers, &1))
    |> :mochiweb_headers.to_list()
    |> Enum.reduce(%{}, fn {name, value}, acc ->
      Map.update(acc, name |> to_string() |> String.downcase(), [to_binary(value)], &(&1 ++ [to_binary(value)]))
    end)
  end

  defp to_binary(value) when is_binary(value), do: value
  defp to_binary(value) when is_list(value), do: :erlang.list_to_binary(value)
  defp to_binary(value), do: to_string(value)

  defp read_body(req, limit) do
    declared =
      case :mochiweb_request.get_header_value(~c"content-length", req) do
        :undefined ->
          0

        value ->
          value
          |> to_string()
          |> Integer.parse()
          |> then(fn
            {n, _} -> n
            :error -> 0
          end)
      end

    if declared > limit do
      # Read (and drop) what the client is sending before answering: a client
      # still writing its body would otherwise see a reset instead of the 413.
      # A body beyond the cap is not worth reading; the connection closes.
      if declared <= max(@discard_cap_bytes, 2 * limit), do: discard(req, declared)
      raise Router.too_large(limit)
    end

    try do
      case :mochiweb_request.recv_body(limit, req) do
        :undefined -> ""
        body -> body
      end
    catch
      :exit, {:body_too_large, _} -> raise Router.too_large(limit)
    end
  end

  defp discard(_req, 0), do: :ok

  defp discard(req, left) do
    chunk = min(left, 65_536)
    :mochiweb_request.recv(chunk, req)
    discard(req, left - chunk)
  end

  defp respond(req, {status, headers, body}) do
    # Our own Server header: mochiweb would add its default (a joke string) otherwise.
    headers = [{"server", "elixir-sqlite"} | headers]
    headers = if :persistent_term.get({__MODULE__, :draining}), do: [{"connection", "close"} | headers], else: headers
    :mochiweb_request.respond({status, headers, body}, req)
  end
end
