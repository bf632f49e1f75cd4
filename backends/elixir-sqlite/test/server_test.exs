defmodule Gtd.ServerTest do
  # The store and the listener are registered processes: one server at a time.
  use ExUnit.Case, async: false

  import Gtd.TestServer

  @json [{"content-type", "application/json"}]

  setup do
    dir = Path.join(System.tmp_dir!(), "gtd-server-test-#{System.unique_integer([:positive])}")
    settings = settings(dir)

    for child <- Gtd.Application.children(settings), do: start_supervised!(child)
    on_exit(fn -> File.rm_rf!(dir) end)
    %{database: settings.database_path}
  end

  defp connect do
    {:ok, socket} = :gen_tcp.connect(~c"127.0.0.1", Gtd.Http.port(), [:binary, active: false, packet: :raw])
    socket
  end

  defp raw_get(socket, path) do
    :ok = :gen_tcp.send(socket, "GET #{path} HTTP/1.1\r\nHost: t\r\n\r\n")
    read_response(socket, "")
  end

  # Reads one response with a Content-Length body; returns {status line, body}.
  defp read_response(socket, buffer) do
    case :binary.split(buffer, "\r\n\r\n") do
      [head, rest] ->
        [_, length] = Regex.run(~r/content-length: (\d+)/i, head)
        body = read_exactly(socket, rest, String.to_integer(length))
        {head |> String.split("\r\n") |> hd(), body}

      [_] ->
        {:ok, more} = :gen_tcp.recv(socket, 0, 10_000)
        read_response(socket, buffer <> more)
    end
  end

  defp read_exactly(_socket, data, length) when byte_size(data) >= length, do: binary_part(data, 0, length)

  defp read_exactly(socket, data, length) do
    {:ok, more} = :gen_tcp.recv(socket, 0, 10_000)
    read_exactly(socket, data <> more, length)
  end

  # The server-side process serving the client socket `socket` (the owner of the accepted port).
  defp server_process_of(socket) do
    {:ok, client_end} = :inet.sockname(socket)

    Enum.find_value(Port.list(), fn port ->
      with {:name, ~c"tcp_inet"} <- Port.info(port, :name),
           {:ok, ^client_end} <- :inet.peername(port),
           {:connected, pid} <- Port.info(port, :connected) do
        pid
      else
        _ -> nil
      end
    end)
  end

  test "health reports the backend id and a working database" do
    {200, _, body} = request(:get, "/health")
    assert json(body) == %{"status" => "ok", "backend" => "elixir-sqlite-test", "db" => "ok"}
  end

  test "health is 503 when another connection drops the schema under the running server", %{database: database} do
    {200, _, _} = request(:get, "/health")
    {_, 0} = System.cmd("sqlite3", [database, "DROP TABLE tasks"])
    {503, _, body} = request(:get, "/health")
    assert json(body) == %{"status" => "error", "backend" => "elixir-sqlite-test", "db" => "error"}
  end

  test "a create answers 201 with Location and the task" do
    {201, headers, body} = request(:post, "/tasks", @json, ~s({"title": "from ExUnit"}))
    task = json(body)
    assert {"location", "/tasks/#{task["id"]}"} in headers
    {200, _, again} = request(:get, "/tasks/#{task["id"]}")
    assert json(again) == task
  end

  test "an Idempotency-Key replays the first answer and creates nothing more" do
    headers = [{"idempotency-key", "exunit-1"} | @json]
    {201, _, first} = request(:post, "/projects", headers, ~s({"name": "once"}))
    {201, replay_headers, second} = request(:post, "/projects", headers, ~s({"name": "once"}))
    assert second == first
    assert {"idempotent-replayed", "true"} in replay_headers
    {200, _, list} = request(:get, "/projects")
    assert length(json(list)["projects"]) == 1
  end

  test "the same Idempotency-Key with another body is 422 idempotency_key_reused" do
    headers = [{"idempotency-key", "exunit-2"} | @json]
    {201, _, _} = request(:post, "/tasks", headers, ~s({"title": "a"}))
    {422, _, body} = request(:post, "/tasks", headers, ~s({"title": "b"}))

    assert json(body) == %{
             "error" => %{"code" => "idempotency_key_reused", "message" => json(body)["error"]["message"]}
           }
  end

  test "concurrent creates with one Idempotency-Key create one task; the others replay it" do
    headers = [{"idempotency-key", "exunit-race"} | @json]

    answers =
      1..16
      |> Enum.map(fn _ -> Task.async(fn -> request(:post, "/tasks", headers, ~s({"title": "race"})) end) end)
      |> Enum.map(&Task.await(&1, 15_000))

    assert answers |> Enum.map(&elem(&1, 2)) |> Enum.uniq() |> length() == 1
    assert Enum.count(answers, fn {_, headers, _} -> {"idempotent-replayed", "true"} in headers end) == 15
    {200, _, list} = request(:get, "/tasks")
    assert length(json(list)["tasks"]) == 1
  end

  test "a body over 1 MiB is answered 413 after it was sent" do
    body = ~s({"title": "t", "notes": ") <> String.duplicate("x", 1_048_576) <> ~s("})
    {413, _, answer} = request(:post, "/tasks", @json, body)
    assert json(answer)["error"]["code"] == "payload_too_large"
  end

  test "a killed store is restarted and the node keeps serving" do
    {201, _, created} = request(:post, "/tasks", @json, ~s({"title": "kept"}))
    old = Process.whereis(Gtd.Store)
    Process.exit(old, :kill)
    assert eventually(fn -> match?({200, _, _}, request(:get, "/health")) and Process.whereis(Gtd.Store) != old end)
    {200, _, again} = request(:get, "/tasks/#{json(created)["id"]}")
    assert json(again) == json(created)
  end

  test "a killed listener owner is restarted and the node keeps serving" do
    old = Process.whereis(Gtd.Http)
    Process.exit(old, :kill)
    assert eventually(fn -> (pid = Process.whereis(Gtd.Http)) && pid != old end)
    assert eventually(fn -> match?({200, _, _}, request(:get, "/health")) end)
  end

  test "while the store is down, requests answer 503 database_unavailable, not 500" do
    # Stop the store without its supervisor restarting it, then call the API.
    :ok = Supervisor.terminate_child(test_supervisor(), Gtd.Store)
    {503, _, body} = request(:get, "/tasks")
    assert json(body)["error"]["code"] == "database_unavailable"
    {503, _, health} = request(:get, "/health")
    assert json(health) == %{"status" => "error", "backend" => "elixir-sqlite-test", "db" => "error"}
  end

  test "a connection process killed mid-request takes only its own request with it" do
    victim = connect()
    :ok = :gen_tcp.send(victim, "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Length: 30\r\n\r\n{\"title\":")
    pid = eventually(fn -> server_process_of(victim) end)
    assert eventually(fn -> Gtd.Http.in_flight() == 1 end)
    Process.exit(pid, :kill)
    assert :gen_tcp.recv(victim, 0, 5000) == {:error, :closed}
    assert Gtd.Http.in_flight() == 0
    assert {200, _, _} = request(:get, "/health")
  end

  test "200 idle keep-alive connections and 50 stalled requests do not block normal traffic" do
    idle = for _ <- 1..200, do: connect()
    for socket <- idle, do: assert({"HTTP/1.1 200 OK", _} = raw_get(socket, "/health"))
    # Stalled: a request line and half the headers, never finished.
    stalled = for _ <- 1..50, do: connect()
    for socket <- stalled, do: :ok = :gen_tcp.send(socket, "GET /tasks HTTP/1.1\r\nHost: t\r\n")

    traffic =
      1..100
      |> Enum.map(fn n -> Task.async(fn -> request(:post, "/tasks", @json, ~s({"title": "busy #{n}"})) end) end)
      |> Enum.map(&Task.await(&1, 15_000))

    assert Enum.all?(traffic, &match?({201, _, _}, &1))
    # The idle connections were kept open and still serve.
    for socket <- idle, do: assert({"HTTP/1.1 200 OK", _} = raw_get(socket, "/health"))
    Enum.each(idle ++ stalled, &:gen_tcp.close/1)
  end

  test "connections closed by their clients leave no processes behind (memory stays bounded)" do
    baseline = length(Process.list())
    sockets = for _ <- 1..300, do: connect()
    for socket <- sockets, do: raw_get(socket, "/health")
    assert length(Process.list()) >= baseline + 300
    Enum.each(sockets, &:gen_tcp.close/1)
    assert eventually(fn -> length(Process.list()) <= baseline + 5 end)
  end

  test "stopping the listener lets a request in flight finish and refuses new connections" do
    slow = connect()
    body = ~s({"title":"in flight"})

    :ok =
      :gen_tcp.send(
        slow,
        "POST /tasks HTTP/1.1\r\nHost: t\r\nContent-Length: #{byte_size(body)}\r\n\r\n" <> binary_part(body, 0, 5)
      )

    assert eventually(fn -> Gtd.Http.in_flight() == 1 end)
    port = Gtd.Http.port()
    supervisor = test_supervisor()
    stopper = Task.async(fn -> Supervisor.terminate_child(supervisor, Gtd.Http) end)

    assert eventually(fn ->
             match?({:error, :econnrefused}, :gen_tcp.connect(~c"127.0.0.1", port, [:binary]))
           end)

    :ok = :gen_tcp.send(slow, binary_part(body, 5, byte_size(body) - 5))
    {status, answer} = read_response(slow, "")
    assert status == "HTTP/1.1 201 Created"
    assert json(answer)["title"] == "in flight"
    assert Task.await(stopper, 15_000) == :ok
  end

  defp test_supervisor do
    {:ok, supervisor} = ExUnit.fetch_test_supervisor()
    supervisor
  end
end
