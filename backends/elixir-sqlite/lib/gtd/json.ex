defmodule Gtd.Json do
  @moduledoc """
  JSON exactly as JavaScript's `JSON.parse` reads it (RFC 8259), and written as
  `JSON.stringify` writes it, so this backend accepts and refuses the same
  bodies as bun-sqlite and cf-d1.

  Values: objects are `{:object, [{key, value}]}` (key order kept: JavaScript's
  order matters for which unknown field is reported; a repeated key keeps its
  first position and its last value, as `JSON.parse` does), arrays are lists,
  strings binaries, numbers `{:number, text}` (no field of the API is numeric,
  only the type matters, and `1e999` must not fail), `true`, `false`, `:null`.

  Why not jiffy (Debian's erlang-jiffy): it refuses a lone surrogate escape
  (`"\\ud800"`, which `JSON.parse` keeps and the contract answers with a 422
  naming the field) and `1e999` (a range error), and keeps repeated keys. This parser is iterative (tail
  calls and an explicit stack), so `"[" * 200_000` is data, not a crash. A lone
  surrogate escape is kept as its 3-byte WTF-8 form: the string is then not
  valid UTF-8, which validation turns into "must be valid Unicode".
  """

  @type value ::
          {:object, [{binary(), value()}]}
          | [value()]
          | binary()
          | {:number, binary()}
          | boolean()
          | :null

  @doc "Parses UTF-8 JSON text; `:error` for anything `JSON.parse` would refuse."
  @spec parse(binary()) :: {:ok, value()} | :error
  def parse(text) do
    value(text, [])
  catch
    :invalid -> :error
  end

  # -- parsing: value/2 reads one value; done/3 attaches it to the open container --

  defp value(<<c, rest::binary>>, stack) when c in ~c" \t\n\r", do: value(rest, stack)

  defp value(<<?{, rest::binary>>, stack) do
    case skip_ws(rest) do
      <<?}, rest::binary>> ->
        done({:object, []}, rest, stack)

      rest ->
        {key, rest} = key(rest)
        value(rest, [{:object, [], key} | stack])
    end
  end

  defp value(<<?[, rest::binary>>, stack) do
    case skip_ws(rest) do
      <<?], rest::binary>> -> done([], rest, stack)
      rest -> value(rest, [{:array, []} | stack])
    end
  end

  defp value(<<?", rest::binary>>, stack) do
    {string, rest} = string(rest, rest, 0, [])
    done(string, rest, stack)
  end

  defp value(<<"true", rest::binary>>, stack), do: done(true, rest, stack)
  defp value(<<"false", rest::binary>>, stack), do: done(false, rest, stack)
  defp value(<<"null", rest::binary>>, stack), do: done(:null, rest, stack)

  defp value(<<c, _::binary>> = text, stack) when c == ?- or c in ?0..?9 do
    length = number_length(text)
    <<number::binary-size(length), rest::binary>> = text
    done({:number, number}, rest, stack)
  end

  defp value(_text, _stack), do: throw(:invalid)

  defp done(value, rest, []) do
    if skip_ws(rest) == "", do: {:ok, value}, else: throw(:invalid)
  end

  defp done(value, rest, [{:array, items} | stack]) do
    case skip_ws(rest) do
      <<?,, rest::binary>> -> value(rest, [{:array, [value | items]} | stack])
      <<?], rest::binary>> -> done(Enum.reverse([value | items]), rest, stack)
      _ -> throw(:invalid)
    end
  end

  defp done(value, rest, [{:object, pairs, key} | stack]) do
    case skip_ws(rest) do
      <<?,, rest::binary>> ->
        {next_key, rest} = key(skip_ws(rest))
        value(rest, [{:object, [{key, value} | pairs], next_key} | stack])

      <<?}, rest::binary>> ->
        done({:object, js_object(Enum.reverse([{key, value} | pairs]))}, rest, stack)

      _ ->
        throw(:invalid)
    end
  end

  # `"key" :` (leading whitespace already skipped); returns the key and what follows the colon.
  defp key(<<?", rest::binary>>) do
    {key, rest} = string(rest, rest, 0, [])

    case skip_ws(rest) do
      <<?:, rest::binary>> -> {key, rest}
      _ -> throw(:invalid)
    end
  end

  defp key(_text), do: throw(:invalid)

  # A repeated key: first position, last value (JSON.parse assigns in order).
  defp js_object(pairs) do
    last = Map.new(pairs)

    if map_size(last) == length(pairs) do
      pairs
    else
      {kept, _seen} =
        Enum.reduce(pairs, {[], MapSet.new()}, fn {key, _}, {kept, seen} ->
          if MapSet.member?(seen, key),
            do: {kept, seen},
            else: {[{key, Map.fetch!(last, key)} | kept], MapSet.put(seen, key)}
        end)

      Enum.reverse(kept)
    end
  end

  defp skip_ws(<<c, rest::binary>>) when c in ~c" \t\n\r", do: skip_ws(rest)
  defp skip_ws(text), do: text

  # -- strings: `start` is where the current run of plain bytes began, `n` its length --

  defp string(<<?", rest::binary>>, start, n, acc) do
    {IO.iodata_to_binary([acc | binary_part(start, 0, n)]), rest}
  end

  defp string(<<?\\, rest::binary>>, start, n, acc) do
    {piece, rest} = escape(rest)
    string(rest, rest, 0, [acc, binary_part(start, 0, n), piece])
  end

  defp string(<<c, rest::binary>>, start, n, acc) when c >= 0x20, do: string(rest, start, n + 1, acc)
  # A raw control character, or the end of the text inside a string.
  defp string(_text, _start, _n, _acc), do: throw(:invalid)

  defp escape(<<?", rest::binary>>), do: {"\"", rest}
  defp escape(<<?\\, rest::binary>>), do: {"\\", rest}
  defp escape(<<?/, rest::binary>>), do: {"/", rest}
  defp escape(<<?b, rest::binary>>), do: {"\b", rest}
  defp escape(<<?f, rest::binary>>), do: {"\f", rest}
  defp escape(<<?n, rest::binary>>), do: {"\n", rest}
  defp escape(<<?r, rest::binary>>), do: {"\r", rest}
  defp escape(<<?t, rest::binary>>), do: {"\t", rest}

  defp escape(<<?u, a, b, c, d, rest::binary>>) do
    code = hex4(a, b, c, d)

    with true <- code in 0xD800..0xDBFF,
         <<?\\, ?u, e, f, g, h, after_low::binary>> <- rest,
         low when low in 0xDC00..0xDFFF <- hex4(e, f, g, h) do
      {<<0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)::utf8>>, after_low}
    else
      _ -> {code_unit(code), rest}
    end
  end

  defp escape(_text), do: throw(:invalid)

  # A lone surrogate as the 3 bytes UTF-8 would give it (WTF-8: invalid UTF-8 on purpose).
  defp code_unit(code) when code in 0xD800..0xDFFF do
    <<0xE0 + div(code, 0x1000), 0x80 + rem(div(code, 0x40), 0x40), 0x80 + rem(code, 0x40)>>
  end

  defp code_unit(code), do: <<code::utf8>>

  defp hex4(a, b, c, d), do: ((hex(a) * 16 + hex(b)) * 16 + hex(c)) * 16 + hex(d)

  defp hex(c) when c in ?0..?9, do: c - ?0
  defp hex(c) when c in ?a..?f, do: c - ?a + 10
  defp hex(c) when c in ?A..?F, do: c - ?A + 10
  defp hex(_c), do: throw(:invalid)

  # -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? — its length in bytes.
  defp number_length(text) do
    {n, rest} =
      case text do
        <<?-, rest::binary>> -> {1, rest}
        _ -> {0, text}
      end

    {n, rest} =
      case rest do
        <<?0, rest::binary>> -> {n + 1, rest}
        <<c, _::binary>> when c in ?1..?9 -> digits(rest, n, 1)
        _ -> throw(:invalid)
      end

    {n, rest} =
      case rest do
        <<?., rest::binary>> -> digits(rest, n + 1, 1)
        _ -> {n, rest}
      end

    case rest do
      <<e, sign, rest::binary>> when e in ~c"eE" and sign in ~c"+-" -> elem(digits(rest, n + 2, 1), 0)
      <<e, rest::binary>> when e in ~c"eE" -> elem(digits(rest, n + 1, 1), 0)
      _ -> n
    end
  end

  # At least `min` digits; returns the new length and the rest.
  defp digits(<<c, rest::binary>>, n, min) when c in ?0..?9, do: digits(rest, n + 1, min - 1)
  defp digits(_rest, _n, min) when min > 0, do: throw(:invalid)
  defp digits(rest, n, _min), do: {n, rest}

  # -- writing ------------------------------------------------------------------

  @doc """
  A value as JSON text (iodata), as `JSON.stringify` writes it: no spaces,
  non-ASCII as is, a lone surrogate (WTF-8, see above) as `\\udxxx`.
  Also takes plain maps with atom or binary keys, atoms as strings and integers.
  """
  @spec encode(term()) :: iodata()
  def encode(:null), do: "null"
  def encode(nil), do: "null"
  def encode(true), do: "true"
  def encode(false), do: "false"
  def encode({:number, text}), do: text
  def encode(value) when is_integer(value), do: Integer.to_string(value)
  def encode(value) when is_binary(value), do: string_json(value)
  def encode(value) when is_atom(value), do: string_json(Atom.to_string(value))
  def encode({:object, pairs}), do: object_json(pairs)
  def encode(value) when is_map(value), do: object_json(Map.to_list(value))
  def encode(value) when is_list(value), do: [?[, Enum.map_intersperse(value, ?,, &encode/1), ?]]

  defp object_json(pairs) do
    members = Enum.map_intersperse(pairs, ?,, fn {key, value} -> [string_json(to_string(key)), ?:, encode(value)] end)
    [?{, members, ?}]
  end

  # Bytes that need more than copying: controls, quote, backslash, and 0xED (a surrogate's lead byte).
  @special Enum.map([?", ?\\, 0xED | Enum.to_list(0..0x1F)], &<<&1>>)

  # The compiled pattern is a reference, which cannot be a module attribute: compiled once, kept.
  defp special do
    case :persistent_term.get({__MODULE__, :special}, nil) do
      nil ->
        pattern = :binary.compile_pattern(@special)
        :persistent_term.put({__MODULE__, :special}, pattern)
        pattern

      pattern ->
        pattern
    end
  end

  defp string_json(text) do
    case :binary.match(text, special()) do
      :nomatch -> [?", text, ?"]
      _ -> [?", escape_text(text, text, 0, []), ?"]
    end
  end

  defp escape_text(<<>>, start, n, acc), do: [acc | binary_part(start, 0, n)]

  defp escape_text(<<c, rest::binary>>, start, n, acc) when c < 0x20 or c == ?" or c == ?\\ do
    escape_text(rest, rest, 0, [acc, binary_part(start, 0, n), escaped(c)])
  end

  defp escape_text(<<0xED, b, c, rest::binary>>, start, n, acc) when b in 0xA0..0xBF do
    code = 0xD000 + (b - 0x80) * 0x40 + (c - 0x80)
    hex = code |> Integer.to_string(16) |> String.downcase()
    escape_text(rest, rest, 0, [acc, binary_part(start, 0, n), "\\u", hex])
  end

  defp escape_text(<<_c, rest::binary>>, start, n, acc), do: escape_text(rest, start, n + 1, acc)

  defp escaped(?"), do: "\\\""
  defp escaped(?\\), do: "\\\\"
  defp escaped(?\b), do: "\\b"
  defp escaped(?\f), do: "\\f"
  defp escaped(?\n), do: "\\n"
  defp escaped(?\r), do: "\\r"
  defp escaped(?\t), do: "\\t"
  defp escaped(c), do: ["\\u00", c |> Integer.to_string(16) |> String.downcase() |> String.pad_leading(2, "0")]
end
