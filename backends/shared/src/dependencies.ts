/**
 * The dependency graph (contract v2 §1, `blocked_by`): it must stay acyclic.
 * Edges point from a task to each task blocking it.
 *
 *   findCycle(new Map([["a", ["b"]], ["b", ["a"]]]));   // ["a", "b"] (nodes on a cycle)
 */

export type Graph = ReadonlyMap<string, readonly string[]>;

/**
 * The nodes that lie on some cycle, or an empty array for an acyclic graph.
 * Iterative Tarjan SCC (no recursion: an imported chain of 10,000 tasks must
 * not overflow the stack); a strongly connected component of two or more
 * nodes, or a node blocking itself, is a cycle.
 */
export function findCycle(graph: Graph): string[] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const onCycle: string[] = [];
  let counter = 0;

  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    // Each frame: a node and how many of its edges have been followed.
    const frames: [string, number][] = [[root, 0]];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1];
      const [node, next] = frame;
      const edges = graph.get(node) ?? [];
      if (next < edges.length) {
        frame[1] += 1;
        const target = edges[next];
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          frames.push([target, 0]);
        } else if (onStack.has(target)) {
          low.set(node, Math.min(low.get(node)!, index.get(target)!));
        }
        continue;
      }
      frames.pop();
      if (frames.length > 0) {
        const parent = frames[frames.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(node)!));
      }
      if (low.get(node) === index.get(node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== node);
        if (component.length > 1 || edges.includes(node)) onCycle.push(...component);
      }
    }
  }
  return onCycle;
}
