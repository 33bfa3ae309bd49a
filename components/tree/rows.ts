// The rows the tree shows, in the API's order: spans, with collapsed branches skipped; a group row in place of
// repeated identical calls (repeats.ts) until it is opened; one heading above the spans whose parent has not
// arrived, and a row for each such parent above its branches. No tree is rebuilt here: one pass over the API's order.
import { pendingParentAt, type PendingParent, type SpanTree, type TreeNode } from '../span-tree';
import type { RepeatGroup, RepeatIndex } from './repeats';

export type DisplayRow =
  | { kind: 'span'; key: string; node: TreeNode }
  | { kind: 'group'; key: string; group: RepeatGroup; level: number; open: boolean }
  | { kind: 'detached'; key: string; tops: number; spans: number }
  | { kind: 'parent'; key: string; parent: PendingParent; collapsed: boolean };

export interface RowState {
  /** Spans whose branch is closed. */
  collapsed: ReadonlySet<string>;
  /** Groups of repeated calls that are open (they start closed). */
  openGroups: ReadonlySet<string>;
}

/** The display rows, and each shown span's (and missing parent's) row index. */
export function displayRows(tree: SpanTree, repeats: RepeatIndex, state: RowState): { rows: DisplayRow[]; rowOf: Map<string, number> } {
  const rows: DisplayRow[] = [];
  const rowOf = new Map<string, number>();
  const { nodes, pendingParents } = tree;
  let pending = 0;
  for (let i = 0; i < nodes.length; ) {
    const node = nodes[i];
    if (i === tree.detachedFrom) rows.push({ kind: 'detached', key: '~detached', tops: tree.orphanCount, spans: nodes.length - tree.detachedFrom });
    while (pending < pendingParents.length && pendingParents[pending].end <= i) pending++;
    const parent = pendingParents[pending];
    if (parent && parent.from === i) {
      const collapsed = state.collapsed.has(parent.spanId);
      rowOf.set(parent.spanId, rows.length);
      rows.push({ kind: 'parent', key: `~p:${parent.spanId}`, parent, collapsed });
      pending++;
      if (collapsed) {
        i = parent.end;
        continue;
      }
    }
    const group = repeats.groupOf.get(node.span.spanId);
    if (group) {
      const open = state.openGroups.has(group.key);
      if (group.members[0] === node) rows.push({ kind: 'group', key: `~g:${group.key}`, group, level: node.level, open });
      if (!open) {
        i = node.end;
        continue;
      }
    }
    rowOf.set(node.span.spanId, rows.length);
    rows.push({ kind: 'span', key: node.span.spanId, node });
    i = node.childCount > 0 && state.collapsed.has(node.span.spanId) ? node.end : i + 1;
  }
  return { rows, rowOf };
}

/**
 * What must open for a span to be shown: its collapsed ancestors and the groups it or they are in. The caller
 * removes `expand` from the collapsed set and adds `openGroups` to the open ones.
 */
export function revealing(tree: SpanTree, node: TreeNode, repeats: RepeatIndex): { expand: string[]; openGroups: string[] } {
  const expand: string[] = [];
  const openGroups: string[] = [];
  const own = repeats.groupOf.get(node.span.spanId);
  if (own) openGroups.push(own.key);
  let top = node;
  for (let p = node.parent; p; p = p.parent) {
    expand.push(p.span.spanId);
    const g = repeats.groupOf.get(p.span.spanId);
    if (g) openGroups.push(g.key);
    top = p;
  }
  const missing = pendingParentAt(tree, top.index);
  if (missing) expand.push(missing.spanId);
  return { expand, openGroups };
}
