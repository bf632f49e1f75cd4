# frozen_string_literal: true

require_relative "test_helper"

class StrictJsonTest < Minitest::Test
  def parse(text) = Gtd::StrictJson.parse(text)

  def test_parses_objects_arrays_and_scalars
    assert_equal({ "a" => [1, 2.5, "x", true, false, nil], "b" => {} }, parse(' {"a": [1, 2.5, "x", true, false, null], "b": {}} '))
    assert_equal 42, parse("42")
    assert_nil parse("null")
    assert_equal "é", parse('"\u00e9"')
  end

  def test_last_duplicate_key_wins_like_javascript
    assert_equal({ "a" => 2 }, parse('{"a": 1, "a": 2}'))
  end

  def test_refuses_what_json_parse_refuses
    ['{"a": 1,}', "[1,]", "01", "-", "1.", ".5", "NaN", "Infinity", "{'a': 1}", '{"a" 1}', '{"a":1}}',
     "/* c */ 1", '{"a": 1 /* c */}', '"\x"', "\"a\tb\"", "\"a\u0000b\"", '"\u12"', "tru", "", "\f1"].each do |text|
      assert_raises(Gtd::StrictJson::ParseError, text.inspect) { parse(text) }
    end
  end

  def test_escapes
    assert_equal "\" \\ / \b \f \n \r \t", parse('"\\" \\\\ \\/ \\b \\f \\n \\r \\t"')
    assert_equal "🙂", parse('"\ud83d\ude42"')
    assert_equal "a\u0000b", parse('"a\u0000b"')
  end

  def test_lone_surrogates_are_kept_as_invalid_utf8
    [ '"\ud800"', '"x\udc00"', '"\ud83d x"' ].each do |text|
      value = parse(text)
      refute value.valid_encoding?, text
    end
  end

  def test_deep_nesting_is_data_not_a_crash
    depth = 200_000
    value = parse("[" * depth + "]" * depth)
    assert_kind_of Array, value
  end

  def test_dump_string_writes_lone_surrogates_as_escapes
    assert_equal '"a\ud800b"', Gtd::StrictJson.dump_string(parse('"a\ud800b"'))
    assert_equal '"plain \"q\""', Gtd::StrictJson.dump_string('plain "q"')
  end

  def test_fast_path_leaves_comments_and_unknown_escapes_to_the_exact_parser
    ["/* c */ 1", "[1] // c", '"\\x"', '"\\ud800"', "[" * 101 + "]" * 101].each do |text|
      assert_same Gtd::StrictJson::UNPARSED, Gtd::StrictJson.fast_parse(text), text
    end
  end

  def test_fast_path_and_exact_parser_agree
    text = '{"a": [1, -0, 1E5, 2.5, "x\\n \\u00e9 a/b", true, false, null], "b": {"c": {}}, "a": 3}'
    assert_equal Gtd::StrictJson::Parser.new(text).parse, Gtd::StrictJson.fast_parse(text)
  end
end
