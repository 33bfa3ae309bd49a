// Builds the request tree from the API's flat span list, and flattens it back into the visible rows
// for the windowed renderer. Pure functions, iterative throughout: a 10,000-deep chain must not blow
// the JS stack.

import type { SpanView } from '@/lib/domain';
import { parseTimeMs } from './format';

export interface TreeNode {
  span: SpanView;
  children: TreeNode[];
  parent: TreeNode | null;
  /** Nesting level as displayed (0 = root level; orphans are shown at level 0). */
  level: number;
  startMs: number;
  endMs: number;
  /** The span claims a parent that is missing from the trace (or forms a cycle). */
  detached: boolean;
}

export interface SpanTree {
  roots: TreeNode[];
  byId: Map<string, TreeNode>;
  /** Earliest start and latest end over all spans, for the timeline scale. */
  startMs: number;
  endMs: number;
  size: number;
}

const MODEL_CATEGORIES = new Set(['llm', 'embedding']);

/** A model call, i.e. a span whose price matters (an unpriced one is flagged, never shown as $0). */
export function isModelCall(span: SpanView): boolean {
  return MODEL_CATEGORIES.has(span.category);
}

function byStart(a: TreeNode, b: TreeNode): number {
  return a.startMs - b.startMs || a.endMs - b.endMs || (a.span.spanId < b.span.spanId ? -1 : 1);
}

export function buildSpanTree(spans: readonly SpanView[]): SpanTree {
  const byId = new Map<string, TreeNode>();
  for (const span of spans) {
    const startMs = parseTimeMs(span.startTime);
    const endMsRaw = parseTimeMs(span.endTime);
    const endMs = Number.isFinite(endMsRaw) ? Math.max(endMsRaw, startMs) : startMs + (span.durationMs || 0);
    // A re-sent span keeps its last copy.
    byId.set(span.spanId, {
      span,
      children: [],
      parent: null,
      level: 0,
      startMs,
      endMs,
      detached: false,
    });
  }

  const realRoots: TreeNode[] = [];
  const orphans: TreeNode[] = [];
  for (const node of byId.values()) {
    const pid = node.span.parentSpanId;
    const parent = pid ? byId.get(pid) : undefined;
    if (parent && parent !== node) {
      node.parent = parent;
      parent.children.push(node);
    } else if (pid || node.span.orphan) {
      node.detached = true;
      orphans.push(node);
    } else {
      realRoots.push(node);
    }
  }
  for (const node of byId.values()) if (node.children.length > 1) node.children.sort(byStart);
  realRoots.sort(byStart);
  orphans.sort(byStart);
  const roots = [...realRoots, ...orphans];

  // Assign levels by walking from the roots. Nodes never reached sit on a parent cycle (bad data):
  // cut the cycle at the earliest such node and show it as an orphan.
  const visited = new Set<TreeNode>();
  const walk = (root: TreeNode) => {
    const stack: TreeNode[] = [root];
    while (stack.length) {
      const node = stack.pop()!;
      if (visited.has(node)) continue;
      visited.add(node);
      node.level = node.parent && !node.detached ? node.parent.level + 1 : 0;
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
    }
  };
  for (const r of roots) walk(r);
  if (visited.size < byId.size) {
    const stranded = [...byId.values()].filter((n) => !visited.has(n)).sort(byStart);
    for (const node of stranded) {
      if (visited.has(node)) continue;
      if (node.parent) {
        node.parent.children = node.parent.children.filter((c) => c !== node);
        node.parent = null;
      }
      node.detached = true;
      roots.push(node);
      walk(node);
    }
  }

  let startMs = Infinity;
  let endMs = -Infinity;
  for (const node of byId.values()) {
    if (Number.isFinite(node.startMs) && node.startMs < startMs) startMs = node.startMs;
    if (Number.isFinite(node.endMs) && node.endMs > endMs) endMs = node.endMs;
  }
  if (!Number.isFinite(startMs)) startMs = 0;
  if (!Number.isFinite(endMs) || endMs < startMs) endMs = startMs;

  return { roots, byId, startMs, endMs, size: byId.size };
}

/** The rows currently visible: a pre-order walk that does not descend into collapsed nodes. */
export function flattenVisible(tree: SpanTree, collapsed: ReadonlySet<string>): TreeNode[] {
  const out: TreeNode[] = [];
  const stack: TreeNode[] = [];
  for (let i = tree.roots.length - 1; i >= 0; i--) stack.push(tree.roots[i]);
  while (stack.length) {
    const node = stack.pop()!;
    out.push(node);
    if (node.children.length === 0 || collapsed.has(node.span.spanId)) continue;
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
  }
  return out;
}

/** Every node that has children: the "collapse all" set. */
export function allParents(tree: SpanTree): Set<string> {
  const out = new Set<string>();
  for (const node of tree.byId.values()) if (node.children.length > 0) out.add(node.span.spanId);
  return out;
}

/** Ancestors of a node (nearest first); used to reveal a selected span inside collapsed branches. */
export function ancestorsOf(node: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  let p = node.parent;
  while (p) {
    out.push(p);
    p = p.parent;
  }
  return out;
}
