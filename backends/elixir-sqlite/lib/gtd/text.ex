defmodule Gtd.Text do
  @moduledoc """
  Text helpers with JavaScript's meanings, which the contract is written in:
  whitespace is JavaScript's `\\s` set (Unicode spaces, not only ASCII), a
  length is counted in code points, and undecodable bytes become U+FFFD.
  """

  # JavaScript's \s (and what String.prototype.trim removes), as a regex class body.
  @js_space "\\t\\n\\x{0b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}"

  @doc "The class body of JavaScript's whitespace, for use inside `[...]` of a `u` regex."
  @spec js_space() :: String.t()
  def js_space, do: @js_space

  @blank Regex.compile!("\\A[#{@js_space}]*\\z", "u")

  @doc "True when `text` (valid UTF-8) is empty or only JavaScript whitespace."
  @spec blank?(binary()) :: boolean()
  def blank?(text), do: Regex.match?(@blank, text)

  @doc "Length in Unicode code points (\"🙂\" is 1); `text` must be valid UTF-8."
  @spec code_points(binary()) :: non_neg_integer()
  def code_points(text) do
    # Every code point has exactly one byte that is not a continuation byte (10xxxxxx).
    byte_size(text) - count_continuations(text, 0)
  end

  defp count_continuations(<<byte, rest::binary>>, n) when byte in 0x80..0xBF, do: count_continuations(rest, n + 1)
  defp count_continuations(<<_byte, rest::binary>>, n), do: count_continuations(rest, n)
  defp count_continuations(<<>>, n), do: n

  @doc "Bytes as UTF-8 text: each byte that does not start a valid sequence becomes U+FFFD."
  @spec scrub(binary()) :: String.t()
  def scrub(bytes), do: scrub(bytes, [])

  defp scrub(<<c::utf8, rest::binary>>, acc), do: scrub(rest, [acc, <<c::utf8>>])
  defp scrub(<<_byte, rest::binary>>, acc), do: scrub(rest, [acc, "\uFFFD"])
  defp scrub(<<>>, acc), do: IO.iodata_to_binary(acc)

  @doc """
  `%XX` escapes decoded to bytes; a `%` not followed by two hex digits stays
  as it is (like `decodeURIComponent`'s tolerant cousin in URLSearchParams).
  With `plus: true`, `+` is a space (application/x-www-form-urlencoded).
  """
  @spec percent_decode(binary(), keyword()) :: binary()
  def percent_decode(text, opts \\ []), do: decode(text, Keyword.get(opts, :plus, false), [])

  defp decode(<<?%, a, b, rest::binary>>, plus, acc)
       when a in ~c"0123456789abcdefABCDEF" and b in ~c"0123456789abcdefABCDEF",
       do: decode(rest, plus, [acc, String.to_integer(<<a, b>>, 16)])

  defp decode(<<?+, rest::binary>>, true, acc), do: decode(rest, true, [acc, ?\s])
  defp decode(<<c, rest::binary>>, plus, acc), do: decode(rest, plus, [acc, c])
  defp decode(<<>>, _plus, acc), do: IO.iodata_to_binary(acc)
end
