# frozen_string_literal: true

require_relative "test_helper"

class GraphTest < Minitest::Test
  def test_acyclic_graph_has_no_cycle_nodes
    assert_empty Gtd::Graph.cycle_nodes({ "a" => %w[b c], "b" => ["c"], "c" => [] })
  end

  def test_finds_the_nodes_of_a_cycle_but_not_those_leading_to_it
    on_cycle = Gtd::Graph.cycle_nodes({ "a" => ["b"], "b" => ["c"], "c" => ["a"], "d" => ["a"] })
    assert_equal %w[a b c], on_cycle.keys.sort
  end

  def test_a_self_loop_is_a_cycle
    assert_equal ["a"], Gtd::Graph.cycle_nodes({ "a" => ["a"], "b" => ["a"] }).keys
  end

  def test_edges_to_nodes_without_an_entry_are_fine
    assert_empty Gtd::Graph.cycle_nodes({ "a" => ["x"] })
  end

  def test_a_long_chain_does_not_overflow_the_stack
    edges = (0...50_000).to_h { |i| [i, [i + 1]] }
    assert_empty Gtd::Graph.cycle_nodes(edges)
    edges[50_000] = [0]
    assert_equal 50_001, Gtd::Graph.cycle_nodes(edges).size
  end
end
