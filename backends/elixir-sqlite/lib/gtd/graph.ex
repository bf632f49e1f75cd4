defmodule Gtd.Graph do
  @moduledoc """
  Dependency cycles (contract v2: a task may not, directly or through others,
  be blocked by itself). Edges go from a task to each of its blockers.
  """

  @typedoc "task id => the ids of its blockers."
  @type edges :: %{String.t() => [String.t()]}

  @doc """
  The first of `candidates` (in their order) that lies on a cycle of `edges`,
  or nil when the graph is acyclic through them. Strongly connected
  components (OTP's digraph_utils) find every cycle in one linear pass.
  """
  @spec first_on_cycle(edges(), [String.t()]) :: String.t() | nil
  def first_on_cycle(edges, candidates) do
    graph = :digraph.new()

    try do
      for {task, blockers} <- edges, blocker <- blockers do
        :digraph.add_vertex(graph, task)
        :digraph.add_vertex(graph, blocker)
        :digraph.add_edge(graph, task, blocker)
      end

      on_cycle = graph |> :digraph_utils.cyclic_strong_components() |> List.flatten() |> MapSet.new()
      Enum.find(candidates, &MapSet.member?(on_cycle, &1))
    after
      :digraph.delete(graph)
    end
  end
end
