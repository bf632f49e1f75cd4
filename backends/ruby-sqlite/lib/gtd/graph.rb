# frozen_string_literal: true

module Gtd
  # Dependency graphs (contract v2 §1: blocked_by must stay acyclic).
  module Graph
    module_function

    # The nodes that lie on a cycle of edges ({node => [successor, ...]}), as a
    # Set-like Hash {node => true}. Tarjan's strongly connected components,
    # iterative so that a 10,000-task chain cannot overflow the stack: a node is
    # on a cycle when its component has more than one node or it points to itself.
    def cycle_nodes(edges)
      index = {}
      low = {}
      on_stack = {}
      stack = []
      counter = 0
      result = {}
      edges.each_key do |root|
        next if index.key?(root)

        work = [[root, 0]]
        until work.empty?
          node, child = work.last
          if child.zero? && !index.key?(node)
            index[node] = low[node] = counter
            counter += 1
            stack << node
            on_stack[node] = true
          end
          successors = edges[node] || []
          if child < successors.length
            work.last[1] += 1
            succ = successors[child]
            if !index.key?(succ)
              work << [succ, 0]
            elsif on_stack[succ]
              low[node] = [low[node], index[succ]].min
            end
            next
          end
          work.pop
          low[work.last[0]] = [low[work.last[0]], low[node]].min unless work.empty?
          next unless low[node] == index[node]

          component = []
          loop do
            member = stack.pop
            on_stack.delete(member)
            component << member
            break if member == node
          end
          if component.length > 1 || successors.include?(node)
            component.each { |member| result[member] = true }
          end
        end
      end
      result
    end
  end
end
