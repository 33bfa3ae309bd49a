// The request tree, built once for everyone: depth, order, orphans and per-branch (subtree) rollups.

/** Spans, tokens and cost of a span's whole subtree, itself included. */
export interface Rollup {
  spanCount: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number; // priced model calls only
  unpricedSpans: number; // model calls in the subtree with no known price
}

/** The fields of a span the tree needs; everything else rides along untouched. */
export interface TreeInput {
  spanId: string;
  parentSpanId: string | null;
  /** Start time in any monotonic unit (µs since the epoch here): only used to order siblings. */
  start: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  countsUsage: boolean;
}

export interface TreeNode<T extends TreeInput> {
  span: T;
  depth: number;
  orphan: boolean;
  rollup: Rollup;
}

/**
 * Builds the request tree from spans in any order: depth from the nearest root, orphans (parent never
 * arrived, or a parent cycle) start their own subtree at depth 0, and each node's rollup sums its whole
 * subtree, counting only spans that are themselves model calls so wrapper spans never double-count.
 * Iterative, so a 100,000-deep chain cannot overflow the stack. Returns nodes in depth-first order,
 * children by start time.
 */
export function buildTree<T extends TreeInput>(spans: readonly T[]): { nodes: TreeNode<T>[]; maxDepth: number } {
  const byId = new Map<string, T>();
  for (const s of spans) byId.set(s.spanId, s);
  const children = new Map<string, T[]>();
  const tops: T[] = [];
  for (const s of spans) {
    const parent = s.parentSpanId && s.parentSpanId !== s.spanId ? byId.get(s.parentSpanId) : undefined;
    if (!parent) tops.push(s);
    else {
      const list = children.get(parent.spanId);
      if (list) list.push(s);
      else children.set(parent.spanId, [s]);
    }
  }
  const byStart = (a: T, b: T) => a.start - b.start;
  tops.sort(byStart);
  for (const list of children.values()) list.sort(byStart);

  const nodes: TreeNode<T>[] = [];
  const visited = new Set<string>();
  let maxDepth = 0;
  const walk = (top: T) => {
    // Explicit stack: post-order accumulation of rollups without recursion.
    const stack: { node: TreeNode<T>; next: number }[] = [];
    const push = (span: T, depth: number, orphan: boolean) => {
      visited.add(span.spanId);
      const own = span.countsUsage;
      const node: TreeNode<T> = {
        span,
        depth,
        orphan,
        rollup: {
          spanCount: 1,
          inputTokens: own ? span.inputTokens : 0,
          outputTokens: own ? span.outputTokens : 0,
          costUsd: own ? (span.costUsd ?? 0) : 0,
          unpricedSpans: own && span.costUsd === null ? 1 : 0,
        },
      };
      nodes.push(node);
      if (depth + 1 > maxDepth) maxDepth = depth + 1;
      stack.push({ node, next: 0 });
    };
    push(top, 0, Boolean(top.parentSpanId));
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      const kids = children.get(frame.node.span.spanId) ?? [];
      if (frame.next < kids.length) {
        const child = kids[frame.next++];
        if (!visited.has(child.spanId)) push(child, frame.node.depth + 1, false);
        continue;
      }
      stack.pop();
      const parent = stack[stack.length - 1];
      if (parent) {
        const r = parent.node.rollup;
        const c = frame.node.rollup;
        r.spanCount += c.spanCount;
        r.inputTokens += c.inputTokens;
        r.outputTokens += c.outputTokens;
        r.costUsd += c.costUsd;
        r.unpricedSpans += c.unpricedSpans;
      }
    }
  };
  for (const top of tops) walk(top);
  // Spans caught in a parent cycle are reachable from no top: show each as an orphan root.
  for (const s of spans) if (!visited.has(s.spanId)) walk(s);
  for (const n of nodes) n.rollup.costUsd = roundUsd(n.rollup.costUsd);
  return { nodes, maxDepth };
}

export function roundUsd(x: number): number {
  const scaled = Math.round(x * 1e9);
  // Past ~1.8e299 dollars the scaling itself overflows: such a sum has no nano-dollar digits to round.
  return Number.isFinite(scaled) ? scaled / 1e9 : x;
}
