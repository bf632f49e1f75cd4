defmodule Gtd.JsonTest do
  use ExUnit.Case, async: true

  alias Gtd.Json

  describe "parse/1 reads what JSON.parse reads" do
    test "objects keep their key order" do
      assert Json.parse(~s({"b": 1, "a": [true, false, null]})) ==
               {:ok, {:object, [{"b", {:number, "1"}}, {"a", [true, false, :null]}]}}
    end

    test "a repeated key keeps its first position and its last value" do
      assert Json.parse(~s({"a": 1, "b": 2, "a": 3})) ==
               {:ok, {:object, [{"a", {:number, "3"}}, {"b", {:number, "2"}}]}}
    end

    test "numbers of any size are kept as text" do
      assert Json.parse("[-0.5e+3, 1e999, 123456789012345678901234567890]") ==
               {:ok, [{:number, "-0.5e+3"}, {:number, "1e999"}, {:number, "123456789012345678901234567890"}]}
    end

    test "escapes decode, a surrogate pair to one code point" do
      assert Json.parse(~S("a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude42")) == {:ok, "a\"b\\c/d\b\f\n\r\té🙂"}
    end

    test "a lone surrogate escape becomes invalid UTF-8 (WTF-8), not an error" do
      assert {:ok, text} = Json.parse(~S("x\ud800y"))
      assert text == <<?x, 0xED, 0xA0, 0x80, ?y>>
      refute String.valid?(text)
    end

    test "deep nesting is data, not a crash" do
      depth = 200_000
      assert {:ok, [_]} = Json.parse(String.duplicate("[", depth) <> String.duplicate("]", depth))
    end

    test "whitespace around values is allowed" do
      assert Json.parse(" \t\n\r{ \"a\" : 1 } \n") == {:ok, {:object, [{"a", {:number, "1"}}]}}
    end

    for bad <- [
          "",
          "{",
          ~s({"a":1}}),
          "{title: 'x'}",
          "not json",
          "[1,]",
          ~s({"a":1,}),
          "01",
          "1.",
          ".5",
          "+1",
          "-",
          "1e",
          "NaN",
          ~s("\\x"),
          ~s("\\u12"),
          "\"a\nb\"",
          "\"unterminated",
          "/* c */ 1",
          "[1] [2]",
          "tru",
          "\u00a01"
        ] do
      test "refuses #{inspect(bad)}" do
        assert Json.parse(unquote(bad)) == :error
      end
    end
  end

  describe "encode/1 writes what JSON.stringify writes" do
    test "objects, arrays, literals and numbers" do
      value = {:object, [{"a", [1, true, false, :null, nil]}, {"b", {:object, []}}, {"c", {:number, "1.5"}}]}
      assert IO.iodata_to_binary(Json.encode(value)) == ~s({"a":[1,true,false,null,null],"b":{},"c":1.5})
    end

    test "strings escape quotes, backslashes and control characters, and keep non-ASCII" do
      assert IO.iodata_to_binary(Json.encode("\"\\\n\t\u0000\u001f é🙂/")) == ~S("\"\\\n\t\u0000\u001f é🙂/")
    end

    test "a lone surrogate (WTF-8) is written as its \\u escape" do
      assert IO.iodata_to_binary(Json.encode(<<?a, 0xED, 0xA0, 0x80>>)) == ~S("a\ud800")
    end

    test "maps with atom keys" do
      assert IO.iodata_to_binary(Json.encode(%{status: "ok"})) == ~s({"status":"ok"})
    end

    test "a parsed document written again parses to the same value" do
      text = ~s({"x":["a\\u0000b",{"y":null}],"z":-1.25e-3})
      {:ok, value} = Json.parse(text)
      assert Json.parse(IO.iodata_to_binary(Json.encode(value))) == {:ok, value}
    end
  end
end
