import type { KeyboardEvent } from 'react';
import type { DisplayRow } from '../tree/rows';

// The tree's keyboard: arrows move the selection over the span rows (group rows and headings are stepped over),
// right and left open and close a branch or go to its first child and its parent, Enter or Space toggle, Home and
// End go to the first and last rows, Page Up and Down by twenty, Escape clears the selection.

export interface TreeKeysContext {
  rows: readonly DisplayRow[];
  rowOf: ReadonlyMap<string, number>;
  selectedId: string | null;
  collapsed: ReadonlySet<string>;
  select: (spanId: string | null) => void;
  toggle: (spanId: string) => void;
  scrollTo: (row: number) => void;
}

export function treeKeys({ rows, rowOf, selectedId, collapsed, select, toggle, scrollTo }: TreeKeysContext) {
  return (e: KeyboardEvent<HTMLDivElement>) => {
    if (rows.length === 0) return;
    const idx = selectedId !== null ? (rowOf.get(selectedId) ?? -1) : -1;
    const row = idx >= 0 ? rows[idx] : undefined;
    const node = row?.kind === 'span' ? row.node : undefined;
    const go = (i: number, dir = 1) => {
      let at = Math.max(0, Math.min(rows.length - 1, i));
      while (rows[at].kind !== 'span' && at + dir >= 0 && at + dir < rows.length) at += dir;
      const r = rows[at];
      if (r.kind === 'span') select(r.node.span.spanId);
      scrollTo(at);
    };
    switch (e.key) {
      case 'ArrowDown':
        go(idx + 1);
        break;
      case 'ArrowUp':
        go(idx < 0 ? 0 : idx - 1, -1);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1, -1);
        break;
      case 'PageDown':
        go(idx + 20);
        break;
      case 'PageUp':
        go(idx - 20, -1);
        break;
      case 'ArrowRight':
        if (!node) return go(0);
        if (node.childCount > 0 && collapsed.has(node.span.spanId)) toggle(node.span.spanId);
        else if (node.childCount > 0) go(idx + 1);
        break;
      case 'ArrowLeft':
        if (!node) return go(0);
        if (node.childCount > 0 && !collapsed.has(node.span.spanId)) toggle(node.span.spanId);
        else if (node.parent) {
          const p = rowOf.get(node.parent.span.spanId);
          if (p !== undefined) go(p);
        }
        break;
      case 'Enter':
      case ' ':
        if (node && node.childCount > 0) toggle(node.span.spanId);
        break;
      case 'Escape':
        select(null);
        break;
      default:
        return;
    }
    e.preventDefault();
  };
}
