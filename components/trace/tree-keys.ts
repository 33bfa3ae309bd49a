import type { KeyboardEvent } from 'react';
import type { DisplayRow } from '../tree/rows';

// The tree's keyboard: arrows move the selection over the span rows and the rows of parents not arrived yet (group
// rows and headings are stepped over), right and left open and close a branch or go to its first child and its
// parent, Enter or Space toggle, Home and End go to the first and last rows, Page Up and Down by twenty, Escape
// clears the selection.

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
    // A parent not arrived yet: a branch like any other, by the id it will have.
    const pending = row?.kind === 'parent' ? row.parent : undefined;
    const branch = node ? { id: node.span.spanId, opens: node.childCount > 0 } : pending ? { id: pending.spanId, opens: true } : undefined;
    const selectable = (r: DisplayRow) => r.kind === 'span' || r.kind === 'parent';
    const go = (i: number, dir = 1) => {
      let at = Math.max(0, Math.min(rows.length - 1, i));
      while (!selectable(rows[at]) && at + dir >= 0 && at + dir < rows.length) at += dir;
      const r = rows[at];
      if (r.kind === 'span') select(r.node.span.spanId);
      else if (r.kind === 'parent') select(r.parent.spanId);
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
        if (!branch) return go(0);
        if (branch.opens && collapsed.has(branch.id)) toggle(branch.id);
        else if (branch.opens) go(idx + 1);
        break;
      case 'ArrowLeft': {
        if (!branch) return go(0);
        if (branch.opens && !collapsed.has(branch.id)) toggle(branch.id);
        else {
          // Up to the parent's row: a span's, or the row standing for a parent not arrived yet.
          const up = node?.parent?.span.spanId ?? node?.span.parentSpanId;
          const p = up ? rowOf.get(up) : undefined;
          if (p !== undefined) go(p);
        }
        break;
      }
      case 'Enter':
      case ' ':
        if (branch?.opens) toggle(branch.id);
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
