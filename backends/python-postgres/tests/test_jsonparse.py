"""JSON parsing: JSON.parse's rules, and the same results at any depth."""

import json

import pytest

from gtd_pg.jsonparse import loads, loads_iterative

VALID = [
    "{}",
    "[]",
    ' { "a" : [1, -2.5e3, true, false, null, "x\\u00e9\\n"] , "b": {"c": {}} } ',
    '"\\ud83d\\ude42"',
    '"\\ud800"',
    "0",
    "-0.0e+1",
    '{"a": 1, "a": 2, "b": 3}',
    '[[], [[]], {"k": [{}]}]',
    '"\\u0000"',
    "1" * 5000,
]
INVALID = [
    "",
    " ",
    "{",
    "[1,]",
    '{"a":1,}',
    "{'a': 1}",
    "{a: 1}",
    "NaN",
    "-Infinity",
    '{"a": Infinity}',
    "01",
    "1.",
    ".5",
    "+1",
    '"\t"',
    '"abc',
    "tru",
    "[1] x",
    '{"a" 1}',
    "[1 2]",
    "١",  # a non-ASCII digit
    '{"a":1}}',
]


@pytest.mark.parametrize("text", VALID)
def test_valid_documents_agree(text):
    expected = json.loads(text, parse_int=float)
    assert loads(text) == expected
    assert loads_iterative(text) == expected
    assert list(loads_iterative(text) if isinstance(expected, dict) else []) == list(
        expected if isinstance(expected, dict) else []
    )


@pytest.mark.parametrize("text", INVALID)
def test_invalid_documents_are_value_errors(text):
    with pytest.raises(ValueError):
        loads(text)
    with pytest.raises(ValueError):
        loads_iterative(text)


@pytest.mark.parametrize("depth", [5_000, 200_000])
def test_deep_nesting_parses(depth):
    value = loads("[" * depth + "]" * depth)
    assert isinstance(value, list)
    deep_object = loads('{"a":' * depth + "1" + "}" * depth)
    assert list(deep_object) == ["a"]


def test_deep_but_malformed_is_a_value_error():
    with pytest.raises(ValueError):
        loads("[" * 5000 + "]" * 4999)
    with pytest.raises(ValueError):
        loads("[" * 5000 + "]" * 5000 + ",")
