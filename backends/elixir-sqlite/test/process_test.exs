defmodule Gtd.ProcessTest do
  @moduledoc "The backend as an OS process (`mix run --no-halt`): settings, SIGTERM, logs."
  use ExUnit.Case, async: false

  @start_deadline_ms 60_000

  defp free_port do
    {:ok, socket} = :gen_tcp.listen(0, [])
    {:ok, port} = :inet.port(socket)
    :gen_tcp.close(socket)
    port
  end

  # Starts the node with `env` on top of a test-friendly default; returns the Erlang port.
  defp spawn_node(env) do
    dir = Path.join(System.tmp_dir!(), "gtd-process-test-#{System.unique_integer([:positive])}")
    on_exit(fn -> File.rm_rf!(dir) end)

    env =
      Map.merge(
        %{
          "MIX_ENV" => "test",
          "HOST" => "127.0.0.1",
          "DATABASE_URL" => "file:#{dir}/gtd.db",
          "BACKEND_ID" => "proc-test"
        },
        env
      )

    port =
      Port.open({:spawn_executable, System.find_executable("mix")}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        args: ["run", "--no-halt", "--no-compile"],
        cd: Gtd.Settings.backend_dir(),
        env: Enum.map(env, fn {k, v} -> {String.to_charlist(k), String.to_charlist(v)} end)
      ])

    # Whatever the test's outcome, no node outlives it.
    {:os_pid, os_pid} = Port.info(port, :os_pid)
    on_exit(fn -> System.cmd("kill", ["-KILL", Integer.to_string(os_pid)], stderr_to_stdout: true) end)
    port
  end

  # Collects output until `pattern` appears (or the node exits, or the deadline passes).
  defp await_output(port, pattern, output \\ "", deadline \\ nil) do
    deadline = deadline || System.monotonic_time(:millisecond) + @start_deadline_ms

    if String.contains?(output, pattern) do
      {:ok, output}
    else
      left = max(deadline - System.monotonic_time(:millisecond), 0)

      receive do
        {^port, {:data, data}} -> await_output(port, pattern, output <> data, deadline)
        {^port, {:exit_status, status}} -> {:exited, status, output}
      after
        left -> {:timeout, output}
      end
    end
  end

  defp await_exit(port, output) do
    receive do
      {^port, {:data, data}} -> await_exit(port, output <> data)
      {^port, {:exit_status, status}} -> {status, output}
    after
      30_000 -> flunk("the node did not exit:\n#{output}")
    end
  end

  defp sigterm(port) do
    {:os_pid, pid} = Port.info(port, :os_pid)
    {_, 0} = System.cmd("kill", ["-TERM", Integer.to_string(pid)])
  end

  test "SIGTERM lets a request in flight finish, then the node exits 0 with JSON log lines" do
    http_port = free_port()
    node = spawn_node(%{"PORT" => Integer.to_string(http_port)})
    assert {:ok, output} = await_output(node, ~s("message":"listening"))

    {:ok, socket} = :gen_tcp.connect(~c"127.0.0.1", http_port, [:binary, active: false])
    body = ~s({"title":"finish me"})
    headers = "Content-Length: #{byte_size(body)}\r\nExpect: 100-continue\r\n"
    :ok = :gen_tcp.send(socket, "POST /tasks HTTP/1.1\r\nHost: t\r\n#{headers}\r\n")
    # "100 Continue" comes when the handler starts reading the body: the request is in flight.
    {:ok, continue} = :gen_tcp.recv(socket, 0, 10_000)
    assert continue =~ "HTTP/1.1 100 Continue"
    sigterm(node)
    assert {:ok, output} = await_output(node, ~s("message":"shutting down"), output)
    :ok = :gen_tcp.send(socket, body)
    {:ok, answer} = :gen_tcp.recv(socket, 0, 10_000)
    assert answer =~ "HTTP/1.1 201 Created"
    assert answer =~ "finish me"

    {status, output} = await_exit(node, output)
    assert status == 0, output
    lines = output |> String.split("\n", trim: true)
    assert lines != []
    for line <- lines, do: assert({:ok, {:object, _}} = Gtd.Json.parse(line), "not a JSON line: #{line}")
  end

  for {variable, value} <- [{"PORT", "seventy"}, {"PORT", "70000"}, {"DATABASE_URL", "/tmp/x.db"}, {"HOST", "nowhere"}] do
    test "a bad #{variable} (#{value}) stops start-up with status 2, naming the variable" do
      node = spawn_node(Map.put(%{"PORT" => "3999"}, unquote(variable), unquote(value)))
      {status, output} = await_exit(node, "")
      assert status == 2, output
      assert output =~ unquote(variable)
    end
  end
end
