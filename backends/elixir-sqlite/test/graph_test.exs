defmodule Gtd.GraphTest do
  use ExUnit.Case, async: true

  alias Gtd.Graph

  test "an acyclic graph has no task on a cycle" do
    assert Graph.first_on_cycle(%{"a" => ["b", "c"], "b" => ["c"]}, ["a", "b", "c"]) == nil
  end

  test "a two-task cycle is found" do
    assert Graph.first_on_cycle(%{"a" => ["b"], "b" => ["a"]}, ["a", "b"]) == "a"
  end

  test "the first candidate on the cycle is named, not one merely leading to it" do
    edges = %{"x" => ["a"], "a" => ["b"], "b" => ["c"], "c" => ["a"]}
    assert Graph.first_on_cycle(edges, ["x", "b", "a"]) == "b"
  end

  test "a long cycle through tasks that are not candidates is found at a candidate" do
    edges = Map.new(1..50, fn n -> {"t#{n}", ["t#{rem(n, 50) + 1}"]} end)
    assert Graph.first_on_cycle(edges, ["t37"]) == "t37"
  end
end
