# The HTTP layers bench/measure.py compares, each in front of the same
# Gtd.Router and Gtd.Store (so only the server differs):
#
#   mochiweb  the backend as shipped (Gtd.Http: erlang-mochiweb's acceptor pool)
#   inets     OTP's own httpd, with a callback module (no extra package)
#   gen_tcp   a minimal hand-written HTTP/1.1 loop on gen_tcp + {packet, :http_bin}
#
#   VARIANT=inets PORT=4000 DATABASE_URL=file:/tmp/x.db mix run --no-start --no-halt bench/variants.exs
#
# Bench code, not shipped: the inets and gen_tcp fronts handle what the GTD
# workload sends (Content-Length bodies, keep-alive), not all of HTTP/1.1.

for app <- [:logger, :crypto, :sqlite3, :mochiweb, :inets], do: {:ok, _} = Application.ensure_all_started(app)
{:ok, settings} = Gtd.Settings.load(System.get_env())
{:ok, _} = Gtd.Store.start_link(path: settings.database_path, migrations: settings.migrations_dir)

defmodule Bench.Common do
  @moduledoc false
  def request(method, target, headers, body_fun) do
    {path, query} =
      case :binary.split(target, "?") do
        [path, query] -> {path, query}
        [path] -> {path, ""}
      end

    headers =
      Enum.reduce(headers, %{}, fn {name, value}, acc ->
        Map.update(acc, String.downcase(name), [value], &(&1 ++ [value]))
      end)

    %Gtd.Router.Request{method: method, raw_path: path, query: query, headers: headers, read_body: body_fun}
  end
end

defmodule Bench.Inets do
  @moduledoc false
  require Record
  Record.defrecord(:mod, Record.extract(:mod, from_lib: "inets/include/httpd.hrl"))

  # httpd's callback: the whole body is already read (entity_body), headers are lowercase strings.
  def unquote(:do)(info) do
    headers = for {name, value} <- mod(info, :parsed_header), do: {to_string(name), to_string(value)}
    body = :erlang.list_to_binary(mod(info, :entity_body))

    request =
      Bench.Common.request(to_string(mod(info, :method)), to_string(mod(info, :request_uri)), headers, fn -> body end)

    {status, response_headers, response_body} = Gtd.Router.call(request)
    response_body = IO.iodata_to_binary(response_body)

    head =
      [{:code, status}, {:content_length, Integer.to_charlist(byte_size(response_body))}] ++
        for({name, value} <- response_headers, do: {String.to_atom(name), String.to_charlist(value)})

    {:proceed, [{:response, {:response, head, [response_body]}}]}
  end
end

defmodule Bench.GenTcp do
  @moduledoc false
  def start(ip, port) do
    {:ok, listen} =
      :gen_tcp.listen(port, [
        :binary,
        ip: ip,
        packet: :http_bin,
        active: false,
        reuseaddr: true,
        backlog: 1024,
        nodelay: true
      ])

    for _ <- 1..16, do: spawn(fn -> accept(listen) end)
    listen
  end

  defp accept(listen) do
    {:ok, socket} = :gen_tcp.accept(listen)
    spawn(fn -> accept(listen) end)
    serve(socket)
  end

  defp serve(socket) do
    case :gen_tcp.recv(socket, 0, 60_000) do
      {:ok, {:http_request, method, {:abs_path, target}, _version}} ->
        headers = read_headers(socket, [])
        length = headers |> List.keyfind("content-length", 0, {nil, "0"}) |> elem(1) |> String.to_integer()

        body = fn ->
          :ok = :inet.setopts(socket, packet: :raw)
          body = if length > 0, do: elem(:gen_tcp.recv(socket, length), 1), else: ""
          :ok = :inet.setopts(socket, packet: :http_bin)
          body
        end

        {status, response_headers, response_body} =
          Gtd.Router.call(Bench.Common.request(to_string(method), target, headers, body))

        response_body = if method == :HEAD, do: "", else: response_body

        head = [
          "HTTP/1.1 ",
          Integer.to_string(status),
          " x\r\n",
          for({name, value} <- response_headers, do: [name, ": ", value, "\r\n"]),
          "content-length: ",
          Integer.to_string(IO.iodata_length(response_body)),
          "\r\n\r\n"
        ]

        :ok = :gen_tcp.send(socket, [head, response_body])
        serve(socket)

      _closed_or_bad ->
        :gen_tcp.close(socket)
    end
  end

  defp read_headers(socket, acc) do
    case :gen_tcp.recv(socket, 0, 60_000) do
      {:ok, {:http_header, _, name, _, value}} ->
        read_headers(socket, [{String.downcase(to_string(name)), value} | acc])

      {:ok, :http_eoh} ->
        Enum.reverse(acc)
    end
  end
end

case System.get_env("VARIANT", "mochiweb") do
  "mochiweb" ->
    {:ok, _} = Gtd.Http.start_link(settings)

  "inets" ->
    # httpd has no nodelay option; without it, its separate header and body
    # writes meet delayed ACKs (~40 ms per request). Sockets read this default.
    :application.set_env(:kernel, :inet_default_listen_options, nodelay: true)

    {:ok, _} =
      :inets.start(:httpd,
        port: settings.port,
        bind_address: settings.ip,
        server_name: ~c"bench",
        server_root: ~c"/tmp",
        document_root: ~c"/tmp",
        modules: [Bench.Inets],
        max_clients: 4096,
        keep_alive: true,
        max_body_size: 1_048_577
      )

  "gen_tcp" ->
    Bench.GenTcp.start(settings.ip, settings.port)
end

IO.puts(:stderr, ~s({"message":"listening","variant":"#{System.get_env("VARIANT", "mochiweb")}"}))
# The servers and the store are linked to this script's process: keep it alive.
Process.sleep(:infinity)
