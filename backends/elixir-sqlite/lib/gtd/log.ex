defmodule Gtd.Log do
  @moduledoc """
  One JSON line per log entry on stderr, the same shape as the other backends:
  `{"time": "2026-02-07T12:34:56.789Z", "level": "info", "message": "...", ...extra}`.

  `info/2` and `error/2` write directly; `format/4` is the Logger console
  format (config/config.exs), so OTP's own reports (a crashed process, a
  supervisor restart) come out as JSON lines too.
  """

  @doc "Writes an info line with `extra` members."
  @spec info(String.t(), map()) :: :ok
  def info(message, extra \\ %{}), do: write("info", message, extra)

  @doc "Writes an error line with `extra` members."
  @spec error(String.t(), map()) :: :ok
  def error(message, extra \\ %{}), do: write("error", message, extra)

  @doc "The JSON line (with newline) for a log entry."
  @spec line(String.t(), String.t(), map()) :: iodata()
  def line(level, message, extra) do
    members = [{"time", Gtd.Clock.now()}, {"level", level}, {"message", message}]
    extra_members = Enum.map(extra, fn {key, value} -> {to_string(key), value} end)
    [Gtd.Json.encode({:object, members ++ extra_members}), ?\n]
  end

  defp write(level, message, extra) do
    # The ExUnit VM keeps only errors (test/test_helper.exs).
    if level == "error" or not Application.get_env(:gtd, :quiet_info, false) do
      IO.binwrite(:standard_error, line(level, message, extra))
    end

    :ok
  end

  @doc "Logger console format: a JSON line; never raises (Logger would drop the entry)."
  @spec format(atom(), term(), term(), keyword()) :: iodata()
  def format(level, message, _timestamp, metadata) do
    text = message |> IO.chardata_to_string() |> scrub() |> String.trim_trailing()
    extra = for {key, value} <- metadata, key in [:pid], into: %{}, do: {key, inspect(value)}
    line(level_name(level), text, extra)
  rescue
    _ -> ["{\"level\":\"error\",\"message\":\"unprintable log entry\"}\n"]
  end

  defp level_name(level) when level in [:error, :critical, :alert, :emergency], do: "error"
  defp level_name(level) when level in [:warning, :warn], do: "warn"
  defp level_name(_level), do: "info"

  # OTP reports may hold bytes that are not UTF-8; a JSON line cannot.
  defp scrub(text), do: if(String.valid?(text), do: text, else: Gtd.Text.scrub(text))
end
