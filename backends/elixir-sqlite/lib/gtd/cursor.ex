defmodule Gtd.Cursor do
  @moduledoc """
  The opaque `next_cursor` of list answers: base64url (no padding) of
  `created_at|seq`, the list-order key of the last item of a page. The next
  page is the rows strictly after it in (created_at, seq) descending order, so
  a cursor survives creates and deletes (keyset pagination).
  """

  @timestamp ~r/\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\z/
  @seq ~r/\A[1-9][0-9]{0,18}\z/

  @typedoc "A position in list order: the created_at and seq of an item."
  @type position :: {String.t(), pos_integer()}

  @doc "The cursor for the item at `position`."
  @spec encode(position()) :: String.t()
  def encode({created_at, seq}), do: Base.url_encode64("#{created_at}|#{seq}", padding: false)

  @doc "The position a cursor names; `:error` for anything `encode/1` cannot have written."
  @spec decode(binary()) :: {:ok, position()} | :error
  def decode(text) do
    with {:ok, plain} <- Base.url_decode64(text, padding: false),
         [created_at, seq] <- String.split(plain, "|"),
         true <- Regex.match?(@timestamp, created_at) and Regex.match?(@seq, seq),
         position = {created_at, String.to_integer(seq)},
         # One spelling per cursor (no padding, no stray bits): what encode/1 writes.
         ^text <- encode(position) do
      {:ok, position}
    else
      _ -> :error
    end
  end
end
