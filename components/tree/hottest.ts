// The hottest path: from the most expensive top, down along the most expensive child each time, to a leaf.
// "Expensive" is the branch's spend (its rollup: each model call counted once); where nothing is priced the
// branch's tokens decide, then its size. Following it opens the runaway branch of a tree in one click.
import type { Rollup } from '@/lib/domain';
import { childrenOf, topsOf, type SpanTree, type TreeNode } from '../span-tree';

function heavier(a: Rollup, b: Rollup): boolean {
  if (a.costUsd !== b.costUsd) return a.costUsd > b.costUsd;
  const ta = a.inputTokens + a.outputTokens;
  const tb = b.inputTokens + b.outputTokens;
  if (ta !== tb) return ta > tb;
  return a.spanCount > b.spanCount;
}

function heaviest(nodes: readonly TreeNode[]): TreeNode | null {
  let best: TreeNode | null = null;
  for (const n of nodes) if (!best || heavier(n.span.rollup, best.span.rollup)) best = n;
  return best;
}

/** The path's spans, top first; empty for an empty tree. Ties go to the earlier span (the API's order). */
export function hottestPath(tree: SpanTree): TreeNode[] {
  const path: TreeNode[] = [];
  for (let at = heaviest(topsOf(tree)); at; at = at.childCount > 0 ? heaviest(childrenOf(tree, at)) : null) path.push(at);
  return path;
}
