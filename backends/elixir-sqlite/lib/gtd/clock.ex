defmodule Gtd.Clock do
  @moduledoc "Timestamps as the contract writes them: RFC 3339, UTC, milliseconds (`2026-02-07T12:34:56.789Z`)."

  @doc "Now, as an RFC 3339 UTC string with milliseconds."
  @spec now() :: String.t()
  def now, do: format(System.os_time(:millisecond))

  @doc "Milliseconds since the Unix epoch as an RFC 3339 UTC string with milliseconds."
  @spec format(integer()) :: String.t()
  def format(ms) do
    ms |> DateTime.from_unix!(:millisecond) |> DateTime.to_iso8601()
  end

  @doc "An RFC 3339 string written by `format/1` back to milliseconds since the epoch."
  @spec parse!(String.t()) :: integer()
  def parse!(text) do
    {:ok, datetime, 0} = DateTime.from_iso8601(text)
    DateTime.to_unix(datetime, :millisecond)
  end
end
