// Search within one tree: the spans whose name, agent, tool, model, error type or id contains the text, ignoring
// case, in tree order. The tree is in memory; this is one pass over it.
import type { SpanTree, TreeNode } from '../span-tree';

export function searchTree(tree: SpanTree, query: string): TreeNode[] {
  const q = query.trim().toLowerCase();
  if (q === '') return [];
  const out: TreeNode[] = [];
  for (const node of tree.nodes) {
    const s = node.span;
    if (
      s.name.toLowerCase().includes(q) ||
      s.spanId.startsWith(q) ||
      (s.agentName?.toLowerCase().includes(q) ?? false) ||
      (s.toolName?.toLowerCase().includes(q) ?? false) ||
      (s.model?.toLowerCase().includes(q) ?? false) ||
      (s.errorType?.toLowerCase().includes(q) ?? false)
    ) {
      out.push(node);
    }
  }
  return out;
}
