defmodule Gtd.Router do
  @moduledoc """
  The GTD API (backends/contract/openapi.yaml) as a function from a request to
  a response, independent of the HTTP server: `Gtd.Http` turns mochiweb's
  request into a `Gtd.Router.Request` and writes back the
  `{status, headers, body}` this returns.

  Order of checks, as the contract says: route (404/405, OPTIONS), path id
  (404), `today` (422), Idempotency-Key (400), body (415/413/400/422),
  referenced project, then blocked_by (422, checked by the store).
  HEAD is answered as GET (the server sends no body).
  """
  alias Gtd.{ApiError, Json, Store, Validation}

  defmodule Request do
    @moduledoc """
    What the router needs of a request. `raw_path` is the path as received
    (without the query); `read_body` a function that reads the body up to the
    route's limit in bytes (it raises an ApiError 413 above it), so nothing is
    read before the route is known.
    """
    @enforce_keys [:method, :raw_path, :query, :headers, :read_body]
    defstruct [:method, :raw_path, :query, :headers, :read_body, backend_id: "elixir-sqlite"]

    @type t :: %__MODULE__{
            method: String.t(),
            raw_path: binary(),
            query: binary(),
            headers: %{String.t() => [binary()]},
            read_body: (pos_integer() -> binary()),
            backend_id: String.t()
          }
  end

  @type response :: {pos_integer(), [{String.t(), String.t()}], iodata()}

  @max_body_bytes 1_048_576
  # POST /import takes a whole export (10,000 tasks are about 4 MB).
  @max_import_bytes 32 * 1_048_576
  @json_headers [{"content-type", "application/json; charset=utf-8"}, {"cache-control", "no-store"}]
  @json_type Regex.compile!("\\Aapplication/([\\w.+-]+\\+)?json[#{Gtd.Text.js_space()}]*(;|\\z)", "iu")
  # 1-255 visible ASCII characters (0x21-0x7E); the draft's sf-string form wraps them in quotes.
  @idempotency_key ~r/\A[\x21-\x7e]{1,255}\z/
  @quoted ~r/\A"([^"]*)"\z/

  @doc "The body limit in bytes of every route but POST /import (1 MiB); one more is a 413."
  @spec max_body_bytes() :: pos_integer()
  def max_body_bytes, do: @max_body_bytes

  @doc "The body limit of POST /import (32 MiB)."
  @spec max_import_bytes() :: pos_integer()
  def max_import_bytes, do: @max_import_bytes

  # {segments pattern, methods served}; HEAD is implied by GET, OPTIONS by every route.
  @routes [
    {["health"], ~w(GET)},
    {["tasks"], ~w(GET POST)},
    {["tasks", :id], ~w(GET PATCH DELETE)},
    {["projects"], ~w(GET POST)},
    {["projects", :id], ~w(GET PATCH DELETE)},
    {["counts"], ~w(GET)},
    {["export"], ~w(GET)},
    {["import"], ~w(POST)}
  ]

  @doc "The response to a request; ApiErrors become their JSON bodies, anything else propagates."
  @spec call(Request.t()) :: response()
  def call(%Request{} = request) do
    segments = request.raw_path |> normalize_path() |> String.split("/") |> tl()
    {route, methods, id} = find_route(segments)
    method = if request.method == "HEAD", do: "GET", else: request.method

    cond do
      request.method == "OPTIONS" ->
        {204, [{"cache-control", "no-store"}, {"allow", allow(methods)}], ""}

      method not in methods ->
        raise %ApiError{
          status: 405,
          code: "method_not_allowed",
          message: "method #{request.method} is not allowed here",
          headers: [{"allow", allow(methods)}]
        }

      true ->
        handle(method, route, id, request)
    end
  rescue
    error in ApiError -> error_response(error)
  end

  @doc "An ApiError as its response."
  @spec error_response(ApiError.t()) :: response()
  def error_response(%ApiError{} = error),
    do: {error.status, @json_headers ++ error.headers, Json.encode(ApiError.body(error))}

  defp find_route(segments) do
    Enum.find_value(@routes, fn {pattern, methods} ->
      case segments do
        [name] when pattern == [name] -> {name, methods, nil}
        [name, id] when pattern == [name, :id] -> {name, methods, id}
        _ -> nil
      end
    end) || raise ApiError.not_found("route")
  end

  defp allow(methods) do
    methods
    |> Enum.flat_map(&if(&1 == "GET", do: ["GET", "HEAD"], else: [&1]))
    |> Kernel.++(["OPTIONS"])
    |> Enum.join(", ")
  end

  # -- handlers ---------------------------------------------------------------------

  defp handle("GET", "health", nil, request) do
    Store.ping()
    json(200, %{"status" => "ok", "backend" => request.backend_id, "db" => "ok"})
  catch
    kind, reason ->
      Gtd.Log.error("health check: database query failed", %{error: Exception.format_banner(kind, reason)})
      json(503, {:object, [{"status", "error"}, {"backend", request.backend_id}, {"db", "error"}]})
  end

  defp handle("GET", "tasks", nil, request) do
    filter = request.query |> Validation.parse_query_string() |> Validation.parse_task_filter()
    {tasks, next_cursor} = Store.list_tasks(filter)
    json(200, {:object, [{"tasks", tasks}, {"next_cursor", next_cursor || :null}]})
  end

  defp handle("GET", "projects", nil, request) do
    filter = request.query |> Validation.parse_query_string() |> Validation.parse_project_filter()
    {projects, next_cursor} = Store.list_projects(filter)
    json(200, {:object, [{"projects", projects}, {"next_cursor", next_cursor || :null}]})
  end

  defp handle("GET", "counts", nil, request) do
    today = request.query |> Validation.parse_query_string() |> Validation.parse_only_today()
    json(200, Store.counts(today))
  end

  defp handle("GET", "export", nil, request) do
    request.query |> Validation.parse_query_string() |> Validation.parse_no_query()
    {projects, tasks} = Store.export()

    json(
      200,
      {:object, [{"version", 2}, {"exported_at", Gtd.Clock.now()}, {"projects", projects}, {"tasks", tasks}]}
    )
  end

  # Idempotency-Key is ignored here: an import is idempotent by itself (merge by updated_at).
  defp handle("POST", "import", nil, request) do
    document = request |> read_body(@max_import_bytes) |> parse_json() |> Gtd.Import.parse()

    result =
      if document.pending != nil and document.tasks == [],
        do: {:error, document.pending},
        else: Store.import(document)

    case result do
      {:ok, counts} -> json(200, counts)
      {:error, {field, message}} -> raise ApiError.invalid(field, message)
    end
  end

  defp handle("POST", collection, nil, request) do
    table = table(collection)
    key = idempotency_key(request.headers)
    bytes = read_body(request, @max_body_bytes)
    idempotency = key && %{key: key, fingerprint: fingerprint(request, bytes)}
    path = "/" <> collection

    case idempotency && Store.find_key(key) do
      stored when is_map(stored) ->
        replay(stored, idempotency.fingerprint, path)

      nil ->
        fields = bytes |> parse_json() |> parse_fields(table, :create)
        created(path, Store.create(table, fields, idempotency), idempotency && idempotency.fingerprint)
    end
  end

  defp handle("GET", collection, id, request) do
    table = table(collection)
    id = path_id(id, table)
    # `today` is accepted (and checked) here; it changes nothing a single row shows.
    request.query |> Validation.parse_query_string() |> Validation.parse_today()
    json(200, Store.get(table, id) || raise(not_found(table)))
  end

  defp handle("PATCH", "tasks", id, request) do
    id = path_id(id, :tasks)
    # The path is checked before the body: a PATCH to a missing row is a 404 whatever it carries.
    if Store.get(:tasks, id) == nil, do: raise(not_found(:tasks))
    today = request.query |> Validation.parse_query_string() |> Validation.parse_today()
    fields = request |> read_body(@max_body_bytes) |> parse_json() |> parse_fields(:tasks, :update)

    case Store.update_task(id, fields, today) do
      {:error, error} -> raise refused(error)
      nil -> raise not_found(:tasks)
      {:ok, row, nil} -> json(200, row)
      {:ok, row, next_id} -> {200, @json_headers ++ [{"next-occurrence-id", next_id}], Json.encode(row)}
    end
  end

  defp handle("PATCH", "projects", id, request) do
    id = path_id(id, :projects)
    if Store.get(:projects, id) == nil, do: raise(not_found(:projects))
    fields = request |> read_body(@max_body_bytes) |> parse_json() |> parse_fields(:projects, :update)
    json(200, Store.update(:projects, id, fields) || raise(not_found(:projects)))
  end

  defp handle("DELETE", collection, id, _request) do
    table = table(collection)

    if Store.delete(table, path_id(id, table)),
      do: {204, [{"cache-control", "no-store"}], ""},
      else: raise(not_found(table))
  end

  defp table("tasks"), do: :tasks
  defp table("projects"), do: :projects

  defp not_found(:tasks), do: ApiError.not_found("task")
  defp not_found(:projects), do: ApiError.not_found("project")

  defp refused(:no_project), do: ApiError.invalid("project_id", "project_id does not name an existing project")
  defp refused({:invalid, field, message}), do: ApiError.invalid(field, message)

  defp parse_fields(body, :tasks, mode), do: Validation.parse_task_fields(body, mode)
  defp parse_fields(body, :projects, mode), do: Validation.parse_project_fields(body, mode)

  defp created(path, {:created, text}, _print), do: {201, @json_headers ++ [{"location", location(path, text)}], text}
  defp created(_path, {:error, error}, _print), do: raise(refused(error))
  # The key was stored by a concurrent request between our lookup and our write: answer as it did.
  defp created(path, {:stored, stored}, print), do: replay(stored, print, path)

  defp replay(stored, print, path) do
    if stored.fingerprint != print do
      raise %ApiError{
        status: 422,
        code: "idempotency_key_reused",
        message: "this Idempotency-Key was already used for a different request"
      }
    end

    location = if stored.status == 201, do: [{"location", location(path, stored.body)}], else: []
    {stored.status, @json_headers ++ [{"idempotent-replayed", "true"} | location], stored.body}
  end

  defp location(path, text) do
    {:ok, {:object, pairs}} = Json.parse(text)
    "#{path}/#{:proplists.get_value("id", pairs)}"
  end

  defp json(status, value), do: {status, @json_headers, Json.encode(value)}

  # -- request parts ----------------------------------------------------------------

  # The path id: not a UUID => 404 (it cannot name anything); else lowercased.
  defp path_id(raw, table) do
    id = decode_segment(raw)
    if Validation.uuid?(id), do: String.downcase(id), else: raise(not_found(table))
  end

  @doc """
  A %-escaped path segment decoded like decodeURIComponent, or left as it is
  when that would fail (a malformed escape cannot name any id anyway).
  """
  @spec decode_segment(binary()) :: binary()
  def decode_segment(segment) do
    if Regex.match?(~r/%(?![0-9a-fA-F]{2})/, segment) do
      segment
    else
      decoded = Gtd.Text.percent_decode(segment)
      if String.valid?(decoded), do: decoded, else: segment
    end
  end

  @doc ~S"""
  The path as a URL parser (WHATWG, as Bun and workerd use) sees it: "\" is
  "/", and "." / ".." segments (also as %2e) are resolved.
  """
  @spec normalize_path(binary()) :: binary()
  def normalize_path(raw) do
    segments =
      case raw |> String.replace("\\", "/") |> String.split("/") do
        ["" | rest] -> rest
        all -> all
      end

    last = length(segments) - 1

    out =
      segments
      |> Enum.with_index()
      |> Enum.reduce([], fn {segment, index}, out ->
        case String.downcase(segment) do
          dots when dots in ["..", ".%2e", "%2e.", "%2e%2e"] ->
            out = Enum.drop(out, 1)
            if index == last, do: ["" | out], else: out

          dot when dot in [".", "%2e"] ->
            if index == last, do: ["" | out], else: out

          _ ->
            [segment | out]
        end
      end)

    "/" <> (out |> Enum.reverse() |> Enum.join("/"))
  end

  @doc "The Idempotency-Key of a request, nil without one; raises 400 when malformed or repeated."
  @spec idempotency_key(%{String.t() => [binary()]}) :: String.t() | nil
  def idempotency_key(headers) do
    case Map.get(headers, "idempotency-key") do
      nil ->
        nil

      [raw] ->
        key =
          case Regex.run(@quoted, raw) do
            [_, inner] -> inner
            nil -> raw
          end

        if Regex.match?(@idempotency_key, key), do: key, else: raise(invalid_key())

      _repeated ->
        raise invalid_key()
    end
  end

  defp invalid_key do
    %ApiError{
      status: 400,
      code: "invalid_idempotency_key",
      message: "Idempotency-Key must be 1-255 visible ASCII characters, optionally in double quotes, sent once"
    }
  end

  @doc "Lowercase hex SHA-256 of `METHOD path\\n` followed by the raw body bytes."
  @spec fingerprint(Request.t(), binary()) :: String.t()
  def fingerprint(request, bytes) do
    :crypto.hash(:sha256, [request.method, " ", request.raw_path, "\n", bytes]) |> Base.encode16(case: :lower)
  end

  # The raw body: 415 for a non-JSON Content-Type; the reader raises 413 above `limit` bytes.
  defp read_body(request, limit) do
    case Map.get(request.headers, "content-type") do
      nil ->
        :ok

      [type | _] ->
        # Header bytes are Latin-1; JavaScript's whitespace class needs them as text.
        text = :unicode.characters_to_binary(type, :latin1)
        if not Regex.match?(@json_type, text), do: raise(unsupported_media_type())
    end

    request.read_body.(limit)
  end

  defp unsupported_media_type,
    do: %ApiError{status: 415, code: "unsupported_media_type", message: "request body must be application/json"}

  @doc "413 payload_too_large for a body over `limit` bytes."
  @spec too_large(pos_integer()) :: ApiError.t()
  def too_large(limit \\ @max_body_bytes),
    do: %ApiError{
      status: 413,
      code: "payload_too_large",
      message: "request body must be at most #{limit} bytes"
    }

  # 400 if empty, not UTF-8 or not JSON (read as JSON.parse reads it).
  defp parse_json(bytes) do
    if not String.valid?(bytes), do: raise(invalid_json("request body is not valid UTF-8"))
    # A leading BOM is dropped, as TextDecoder does.
    text =
      case bytes do
        <<0xEF, 0xBB, 0xBF, rest::binary>> -> rest
        _ -> bytes
      end

    if Gtd.Text.blank?(text), do: raise(invalid_json("request body is empty"))

    case Json.parse(text) do
      {:ok, value} -> value
      :error -> raise invalid_json("request body is not valid JSON")
    end
  end

  defp invalid_json(message), do: %ApiError{status: 400, code: "invalid_json", message: message}
end
