defmodule Gtd.Rrule do
  @moduledoc """
  The RRULE subset of contract v2 (docs: v2 spec §5): parsing, the canonical
  form tasks are served with, and `next/2`, the date after an anchor that a
  rule gives. Pure functions over Elixir's `Date` (ISO calendar).

  Subset: `FREQ=DAILY|WEEKLY|MONTHLY|YEARLY` (required), `INTERVAL=1..365`,
  `BYDAY=MO,..` (WEEKLY only), `BYMONTHDAY=1..31` (MONTHLY only); uppercase,
  each name once, any order, at most 100 characters.
  """

  @enforce_keys [:freq]
  defstruct [:freq, interval: 1, byday: [], bymonthday: nil]

  @type freq :: :daily | :weekly | :monthly | :yearly
  @type t :: %__MODULE__{freq: freq(), interval: 1..365, byday: [1..7], bymonthday: 1..31 | nil}

  @freqs %{"DAILY" => :daily, "WEEKLY" => :weekly, "MONTHLY" => :monthly, "YEARLY" => :yearly}
  # ISO weekday numbers (Monday = 1), which is also the canonical order.
  @days %{"MO" => 1, "TU" => 2, "WE" => 3, "TH" => 4, "FR" => 5, "SA" => 6, "SU" => 7}
  @day_names Map.new(@days, fn {name, n} -> {n, name} end)
  # Decimal without sign or leading zeros.
  @decimal ~r/\A[1-9][0-9]{0,2}\z/
  @max_length 100

  @doc "Parses a rule; `:error` for anything outside the subset."
  @spec parse(term()) :: {:ok, t()} | :error
  def parse(text) when is_binary(text) and byte_size(text) <= @max_length do
    with {:ok, parts} <- split(text),
         {:ok, freq} <- Map.fetch(@freqs, Map.get(parts, "FREQ")),
         {:ok, interval} <- interval(Map.get(parts, "INTERVAL")),
         {:ok, byday} <- byday(Map.get(parts, "BYDAY"), freq),
         {:ok, bymonthday} <- bymonthday(Map.get(parts, "BYMONTHDAY"), freq) do
      {:ok, %__MODULE__{freq: freq, interval: interval, byday: byday, bymonthday: bymonthday}}
    else
      _ -> :error
    end
  end

  def parse(_text), do: :error

  # NAME=VALUE parts into a map; an empty part, an unknown or repeated name is an error.
  defp split(text) do
    text
    |> String.split(";")
    |> Enum.reduce_while({:ok, %{}}, fn part, {:ok, acc} ->
      case String.split(part, "=", parts: 2) do
        [name, value] when name in ["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY"] and not is_map_key(acc, name) ->
          {:cont, {:ok, Map.put(acc, name, value)}}

        _ ->
          {:halt, :error}
      end
    end)
  end

  defp interval(nil), do: {:ok, 1}
  defp interval(text), do: bounded(text, 365)

  defp bymonthday(nil, _freq), do: {:ok, nil}
  defp bymonthday(text, :monthly), do: bounded(text, 31)
  defp bymonthday(_text, _freq), do: :error

  defp bounded(text, max) do
    if Regex.match?(@decimal, text) and String.to_integer(text) <= max, do: {:ok, String.to_integer(text)}, else: :error
  end

  defp byday(nil, _freq), do: {:ok, []}

  defp byday(text, :weekly) do
    days = String.split(text, ",")
    numbers = Enum.map(days, &Map.get(@days, &1))

    if nil in numbers or length(Enum.uniq(numbers)) != length(numbers),
      do: :error,
      else: {:ok, Enum.sort(numbers)}
  end

  defp byday(_text, _freq), do: :error

  @doc "The canonical text: `FREQ=…[;INTERVAL=n][;BYDAY=… in MO..SU order][;BYMONTHDAY=n]`."
  @spec canonical(t()) :: String.t()
  def canonical(%__MODULE__{} = rule) do
    freq = @freqs |> Enum.find(fn {_, atom} -> atom == rule.freq end) |> elem(0)

    ["FREQ=#{freq}"]
    |> then(&if rule.interval == 1, do: &1, else: &1 ++ ["INTERVAL=#{rule.interval}"])
    |> then(
      &if rule.byday == [], do: &1, else: &1 ++ ["BYDAY=" <> Enum.map_join(rule.byday, ",", fn d -> @day_names[d] end)]
    )
    |> then(&if rule.bymonthday == nil, do: &1, else: &1 ++ ["BYMONTHDAY=#{rule.bymonthday}"])
    |> Enum.join(";")
  end

  @doc "The date after `anchor` that `rule` gives (see the v2 spec §5 for each FREQ)."
  @spec next(t(), Date.t()) :: Date.t()
  def next(%__MODULE__{freq: :daily, interval: n}, anchor), do: Date.add(anchor, n)
  def next(%__MODULE__{freq: :weekly, interval: n, byday: []}, anchor), do: Date.add(anchor, 7 * n)

  def next(%__MODULE__{freq: :weekly, interval: n, byday: days}, anchor) do
    weekday = Date.day_of_week(anchor)

    case Enum.find(days, &(&1 > weekday)) do
      nil -> anchor |> Date.add(1 - weekday + 7 * n) |> Date.add(hd(days) - 1)
      day -> Date.add(anchor, day - weekday)
    end
  end

  def next(%__MODULE__{freq: :monthly, interval: n, bymonthday: bymonthday}, anchor) do
    wanted = bymonthday || anchor.day

    if bymonthday != nil and min(wanted, Date.days_in_month(anchor)) > anchor.day do
      %{anchor | day: min(wanted, Date.days_in_month(anchor))}
    else
      months = anchor.year * 12 + anchor.month - 1 + n
      clamped(div(months, 12), rem(months, 12) + 1, wanted)
    end
  end

  def next(%__MODULE__{freq: :yearly, interval: n}, anchor), do: clamped(anchor.year + n, anchor.month, anchor.day)

  # `day` of that month, or the month's last day when it is shorter (31 Jan -> 28 Feb).
  defp clamped(year, month, day) do
    first = Date.new!(year, month, 1)
    %{first | day: min(day, Date.days_in_month(first))}
  end
end
