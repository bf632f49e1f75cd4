defmodule Gtd.Validation do
  @moduledoc """
  Input rules for bodies, query strings and path ids, the same as
  backends/shared/src/validation.ts (and backends/contract/openapi.yaml). Each
  rule returns the (possibly normalised) value or raises a 422 naming the
  field. Where Elixir and JavaScript differ (what whitespace is, lone
  surrogates, object key order) the JavaScript meaning is kept.
  """
  alias Gtd.{ApiError, Text}

  @task_statuses ~w(inbox next waiting scheduled someday done)
  @project_statuses ~w(active someday done)

  @uuid ~r/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/i
  @date ~r/\A([0-9]{4})-([0-9]{2})-([0-9]{2})\z/
  # A GTD context: "@" then 1-49 non-space characters, e.g. "@home", "@phone".
  @context Regex.compile!("\\A@[^#{Text.js_space()}]{1,49}\\z", "u")
  @days_in_month {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
  # Array-index-like keys ("0", "7", "42") come first in a JavaScript object's key order.
  @array_index ~r/\A(?:0|[1-9][0-9]*)\z/
  @max_array_index 4_294_967_294

  @typedoc "A validated field value: text, nil for JSON null, a repeat `{rule, from}`, or blocked_by's ids."
  @type field_value :: binary() | nil | {binary(), binary()} | [binary()]
  @type rule :: (Gtd.Json.value(), binary() -> binary())
  @type spec :: %{rule: rule(), nullable: boolean(), required: boolean()}

  @doc "True when `value` is a UUID in any case (a path id that can name something)."
  @spec uuid?(term()) :: boolean()
  def uuid?(value), do: is_binary(value) and String.valid?(value) and Regex.match?(@uuid, value)

  # -- rules ----------------------------------------------------------------------

  defp text(min, max, opts \\ []) do
    blank_ok = Keyword.get(opts, :blank, true)

    fn value, field ->
      if not is_binary(value), do: raise(ApiError.invalid(field, "#{field} must be a string"))
      # A lone surrogate escape ("\ud800") parses to invalid UTF-8; it cannot be stored.
      if not String.valid?(value), do: raise(ApiError.invalid(field, "#{field} must be valid Unicode"))
      length = Text.code_points(value)

      if length < min or length > max,
        do: raise(ApiError.invalid(field, "#{field} must be #{min}-#{max} characters long"))

      if not blank_ok and Text.blank?(value), do: raise(ApiError.invalid(field, "#{field} must not be blank"))
      value
    end
  end

  defp one_of(values) do
    fn value, field ->
      if is_binary(value) and value in values,
        do: value,
        else: raise(ApiError.invalid(field, "#{field} must be one of: #{Enum.join(values, ", ")}"))
    end
  end

  defp uuid_rule(value, field) do
    if uuid?(value), do: String.downcase(value), else: raise(ApiError.invalid(field, "#{field} must be a UUID"))
  end

  defp context_rule(value, field) do
    if is_binary(value) and String.valid?(value) and Regex.match?(@context, value) do
      value
    else
      raise ApiError.invalid(field, ~s(#{field} must be "@" followed by 1-49 non-space characters, e.g. "@home"))
    end
  end

  defp date_rule(value, field) do
    with true <- is_binary(value) and String.valid?(value),
         [_, year, month, day] <- Regex.run(@date, value),
         true <- real_date?(String.to_integer(year), String.to_integer(month), String.to_integer(day)) do
      value
    else
      _ -> raise ApiError.invalid(field, "#{field} must be a calendar date as YYYY-MM-DD")
    end
  end

  # {"rule": RRULE subset, "from": "due"|"completion"}, exactly those members; the rule is served canonical.
  defp repeat_rule({:object, pairs}, field) do
    with true <- pairs |> Enum.map(&elem(&1, 0)) |> Enum.sort() == ["from", "rule"],
         from when from in ["due", "completion"] <- :proplists.get_value("from", pairs),
         {:ok, rule} <- Gtd.Rrule.parse(:proplists.get_value("rule", pairs)) do
      {Gtd.Rrule.canonical(rule), from}
    else
      _ -> raise invalid_repeat(field)
    end
  end

  defp repeat_rule(_value, field), do: raise(invalid_repeat(field))

  defp invalid_repeat(field) do
    ApiError.invalid(
      field,
      ~s<#{field} must be {"rule": an RRULE (FREQ=DAILY|WEEKLY|MONTHLY|YEARLY, INTERVAL, BYDAY, BYMONTHDAY), > <>
        ~s<"from": "due" or "completion"} or null>
    )
  end

  # The shape only (at most 100 UUIDs, lowercased); existence, self and duplicates are checked
  # by the store, after project_id's existence (the contract's order).
  defp blocked_by_rule(value, field) when is_list(value) and length(value) <= 100 do
    Enum.map(value, fn id ->
      if uuid?(id), do: String.downcase(id), else: raise(ApiError.invalid(field, "#{field} must hold task ids (UUIDs)"))
    end)
  end

  defp blocked_by_rule(_value, field),
    do: raise(ApiError.invalid(field, "#{field} must be an array of at most 100 task ids"))

  @doc "`value` as a Date when it is a `YYYY-MM-DD` calendar date, else raises a 422 naming `field`."
  @spec date!(term(), binary()) :: binary()
  def date!(value, field), do: date_rule(value, field)

  @doc "True for a real calendar date (2024-02-29 yes, 2023-02-29 no)."
  @spec real_date?(integer(), integer(), integer()) :: boolean()
  def real_date?(year, month, day) when month in 1..12 and day >= 1 do
    leap = (rem(year, 4) == 0 and rem(year, 100) != 0) or rem(year, 400) == 0
    day <= if(month == 2 and leap, do: 29, else: elem(@days_in_month, month - 1))
  end

  def real_date?(_year, _month, _day), do: false

  # -- bodies -----------------------------------------------------------------------

  defp task_fields do
    [
      {"title", %{rule: text(1, 500, blank: false), nullable: false, required: true}},
      {"notes", %{rule: text(0, 10_000), nullable: true, required: false}},
      {"status", %{rule: one_of(@task_statuses), nullable: false, required: false}},
      {"project_id", %{rule: &uuid_rule/2, nullable: true, required: false}},
      {"context", %{rule: &context_rule/2, nullable: true, required: false}},
      {"due_date", %{rule: &date_rule/2, nullable: true, required: false}},
      {"defer_until", %{rule: &date_rule/2, nullable: true, required: false}},
      {"repeat", %{rule: &repeat_rule/2, nullable: true, required: false}},
      {"blocked_by", %{rule: &blocked_by_rule/2, nullable: false, required: false}}
    ]
  end

  defp project_fields do
    [
      {"name", %{rule: text(1, 200, blank: false), nullable: false, required: true}},
      {"status", %{rule: one_of(@project_statuses), nullable: false, required: false}},
      {"notes", %{rule: text(0, 10_000), nullable: true, required: false}},
      {"reviewed_on", %{rule: &date_rule/2, nullable: true, required: false}}
    ]
  end

  @doc "A task body, validated: `%{field => value}` of the fields given (mode :create or :update)."
  @spec parse_task_fields(Gtd.Json.value(), :create | :update) :: %{binary() => field_value()}
  def parse_task_fields(body, mode), do: parse_fields(body, task_fields(), mode)

  @doc "A project body, validated (see `parse_task_fields/2`)."
  @spec parse_project_fields(Gtd.Json.value(), :create | :update) :: %{binary() => field_value()}
  def parse_project_fields(body, mode), do: parse_fields(body, project_fields(), mode)

  defp parse_fields({:object, pairs}, specs, mode) do
    known = Map.new(specs)
    # Unknown (and read-only) fields are rejected rather than ignored, so a
    # client typo such as "stauts" cannot silently do nothing.
    for key <- js_key_order(Enum.map(pairs, &elem(&1, 0))), not Map.has_key?(known, key) do
      raise ApiError.invalid(key, "unknown or read-only field '#{key}'")
    end

    if mode == :update and pairs == [],
      do: raise(ApiError.invalid(nil, "request body must contain at least one field to change"))

    body = Map.new(pairs)

    Enum.reduce(specs, %{}, fn {key, spec}, out ->
      case Map.fetch(body, key) do
        :error ->
          if mode == :create and spec.required, do: raise(ApiError.invalid(key, "#{key} is required"))
          out

        {:ok, :null} ->
          if not spec.nullable, do: raise(ApiError.invalid(key, "#{key} must not be null"))
          Map.put(out, key, nil)

        {:ok, value} ->
          Map.put(out, key, spec.rule.(value, key))
      end
    end)
  end

  defp parse_fields(_body, _specs, _mode), do: raise(ApiError.invalid(nil, "request body must be a JSON object"))

  # -- import items (POST /import): the served members, as the export writes them ---------

  @timestamp ~r/\A([0-9]{4})-([0-9]{2})-([0-9]{2})T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{3}Z\z/

  defp timestamp_rule(value, field) do
    with true <- is_binary(value) and String.valid?(value),
         [_, year, month, day, _hour] <- Regex.run(@timestamp, value),
         true <- real_date?(String.to_integer(year), String.to_integer(month), String.to_integer(day)) do
      value
    else
      _ -> raise ApiError.invalid(field, "#{field} must be an RFC 3339 UTC timestamp like 2026-01-31T12:00:00.000Z")
    end
  end

  defp import_task_fields do
    [{"id", %{rule: &uuid_rule/2, nullable: false, required: true}}] ++
      Enum.map(task_fields(), fn
        {"status", spec} -> {"status", %{spec | required: true}}
        other -> other
      end) ++
      [
        {"completed_at", %{rule: &timestamp_rule/2, nullable: true, required: false}},
        {"created_at", %{rule: &timestamp_rule/2, nullable: false, required: true}},
        {"updated_at", %{rule: &timestamp_rule/2, nullable: false, required: true}}
      ]
  end

  defp import_project_fields do
    [{"id", %{rule: &uuid_rule/2, nullable: false, required: true}}] ++
      Enum.map(project_fields(), fn
        {"status", spec} -> {"status", %{spec | required: true}}
        other -> other
      end) ++
      [
        {"created_at", %{rule: &timestamp_rule/2, nullable: false, required: true}},
        {"updated_at", %{rule: &timestamp_rule/2, nullable: false, required: true}}
      ]
  end

  @doc """
  One task of an import document, validated like a create plus its id and
  timestamps; absent optional members are nil (blocked_by: []). A violation is
  a 422 whose field is `prefix.member` (prefix `tasks[3]`).
  """
  @spec parse_import_task(Gtd.Json.value(), binary()) :: %{binary() => field_value()}
  def parse_import_task(item, prefix) do
    item |> parse_item(import_task_fields(), prefix) |> Map.update!("blocked_by", &(&1 || []))
  end

  @doc "One project of an import document (see `parse_import_task/2`)."
  @spec parse_import_project(Gtd.Json.value(), binary()) :: %{binary() => field_value()}
  def parse_import_project(item, prefix), do: parse_item(item, import_project_fields(), prefix)

  defp parse_item({:object, _} = item, specs, prefix) do
    parsed = parse_fields(item, specs, :create)
    # Absent nullable members are null: the item replaces a stored row as a whole.
    Enum.reduce(specs, parsed, fn {key, _}, out -> Map.put_new(out, key, nil) end)
  rescue
    error in ApiError -> reraise %{error | field: "#{prefix}.#{error.field}"}, __STACKTRACE__
  end

  defp parse_item(_item, _specs, prefix), do: raise(ApiError.invalid(prefix, "#{prefix} must be a JSON object"))

  @doc """
  Keys in the order JavaScript's `Object.keys` gives them: array-index-like
  keys first, ascending, then the others in insertion order.
  """
  @spec js_key_order([binary()]) :: [binary()]
  def js_key_order(keys) do
    {indexes, others} =
      Enum.split_with(keys, fn
        # Most keys are names: only one that starts with a digit can be an index.
        <<digit, _::binary>> = key when digit in ?0..?9 ->
          String.valid?(key) and Regex.match?(@array_index, key) and String.to_integer(key) <= @max_array_index

        _ ->
          false
      end)

    Enum.sort_by(indexes, &String.to_integer/1) ++ others
  end

  # -- query strings ---------------------------------------------------------------

  @doc "The task list filter from `[{name, value}]` (see `parse_query_string/1`)."
  @spec parse_task_filter([{binary(), binary()}]) :: %{binary() => term()}
  def parse_task_filter(pairs) do
    parse_query(pairs, %{
      "status" => one_of(@task_statuses),
      "project_id" => &uuid_rule/2,
      "context" => &context_rule/2,
      "deferred" => &boolean_rule/2,
      "blocked" => &boolean_rule/2,
      "available" => &boolean_rule/2,
      "q" => text(1, 200),
      "today" => &date_rule/2,
      "limit" => &limit_rule/2,
      "cursor" => &cursor_rule/2
    })
  end

  @doc "The project list filter from `[{name, value}]` (status, limit, cursor, today)."
  @spec parse_project_filter([{binary(), binary()}]) :: %{binary() => term()}
  def parse_project_filter(pairs) do
    parse_query(pairs, %{
      "status" => one_of(@project_statuses),
      "today" => &date_rule/2,
      "limit" => &limit_rule/2,
      "cursor" => &cursor_rule/2
    })
  end

  @doc "Only `today` from `[{name, value}]` (nil when absent); other parameters are ignored (v1 routes)."
  @spec parse_today([{binary(), binary()}]) :: binary() | nil
  def parse_today(pairs) do
    case for({"today", value} <- pairs, do: value) do
      [] -> nil
      [value] -> date_rule(value, "today")
      _ -> raise ApiError.invalid("today", "today may be given only once")
    end
  end

  @doc "The query of a route that takes only `today` (GET /counts): anything else is a 422 naming it."
  @spec parse_only_today([{binary(), binary()}]) :: binary() | nil
  def parse_only_today(pairs), do: pairs |> parse_query(%{"today" => &date_rule/2}) |> Map.get("today")

  @doc "A route without query parameters (GET /export): the first one given is a 422 naming it."
  @spec parse_no_query([{binary(), binary()}]) :: :ok
  def parse_no_query(pairs) do
    parse_query(pairs, %{})
    :ok
  end

  defp boolean_rule("true", _field), do: true
  defp boolean_rule("false", _field), do: false
  defp boolean_rule(_value, field), do: raise(ApiError.invalid(field, "#{field} must be true or false"))

  defp limit_rule(value, field) do
    if Regex.match?(~r/\A[1-9][0-9]{0,2}\z/, value) and String.to_integer(value) <= 500,
      do: String.to_integer(value),
      else: raise(ApiError.invalid(field, "#{field} must be an integer from 1 to 500"))
  end

  defp cursor_rule(value, field) do
    case Gtd.Cursor.decode(value) do
      {:ok, position} -> position
      :error -> raise ApiError.invalid(field, "#{field} must be a next_cursor from a previous answer")
    end
  end

  defp parse_query(pairs, rules) do
    names = pairs |> Enum.map(&elem(&1, 0)) |> Enum.uniq()

    Enum.reduce(names, %{}, fn name, out ->
      rule = Map.get(rules, name) || raise ApiError.invalid(name, "unknown query parameter '#{name}'")

      case for({^name, value} <- pairs, do: value) do
        [value] -> Map.put(out, name, rule.(value, name))
        _ -> raise ApiError.invalid(name, "#{name} may be given only once")
      end
    end)
  end

  @doc """
  A query string split the way URLSearchParams does: `&`-separated, empty
  pieces skipped, `name` alone means an empty value, `+` is a space, bad
  %-escapes stay as they are, invalid UTF-8 becomes U+FFFD.
  """
  @spec parse_query_string(binary()) :: [{binary(), binary()}]
  def parse_query_string(query) do
    for piece <- String.split(query, "&"), piece != "" do
      {name, value} =
        case :binary.split(piece, "=") do
          [name, value] -> {name, value}
          [name] -> {name, ""}
        end

      {form_decode(name), form_decode(value)}
    end
  end

  defp form_decode(text), do: text |> Text.percent_decode(plus: true) |> Text.scrub()
end
