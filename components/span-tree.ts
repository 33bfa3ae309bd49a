// The request tree as the trace API sends it: every span once, in depth-first tree order, each with its
// `depth` and `orphan` (lib/domain/tree.ts builds it, once, for everyone). The UI never rebuilds or re-sorts
// it; it derives what the rows need (parent, children count, the extent of each subtree) from that order
// in one linear pass: the subtree of row i is the rows after it whose depth is greater than its own.

import { isModelCallCategory, type SpanView } from '@/lib/domain';
import { parseTimeMs } from './format';

export interface TreeNode {
  span: SpanView;
  /** Its row in `SpanTree.nodes`. */
  index: number;
  /** The nearest row above at one level less; null for a root and for the top of an orphan subtree. */
  parent: TreeNode | null;
  /** This span's subtree is the rows after it up to, not including, row `end` of `SpanTree.nodes`. */
  end: number;
  childCount: number;
  /** Nesting level as displayed: the API's depth (0 = a root, or the top of an orphan subtree). */
  level: number;
  startMs: number;
  endMs: number;
  /** The API marks it an orphan: its parent never arrived (or it closes a parent cycle). */
  detached: boolean;
}

export interface SpanTree {
  /** Every span in the API's order, rooted trees first, then the orphan subtrees as one group. */
  nodes: TreeNode[];
  /** Row of the first orphan subtree's top (`nodes.length` when there is none). */
  detachedFrom: number;
  byId: Map<string, TreeNode>;
  /** Earliest start and latest end over all spans, for the timeline scale. */
  startMs: number;
  endMs: number;
  orphanCount: number;
}

/** A model call, i.e. a span whose price matters (an unpriced one is flagged, never shown as $0). */
export const isModelCall = (span: SpanView): boolean => isModelCallCategory(span.category);

/**
 * The tree of the API's spans, in their order. Subtrees are moved whole, never re-sorted: the orphan subtrees
 * (each starting at depth 0 with `orphan: true`) follow the rooted ones, in the order the API gave them, so
 * that spans whose parent has not arrived read as one group below the tree rather than between its branches.
 */
export function treeFromApiOrder(spans: readonly SpanView[]): SpanTree {
  const steps = treeSteps(spans, Infinity);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * treeFromApiOrder in steps of `stepSize` spans, for a caller that gives the page the thread back between
 * them (a 100,000-span tree takes a few hundred milliseconds): the generator's return value is the tree.
 */
export function* treeSteps(spans: readonly SpanView[], stepSize: number): Generator<void, SpanTree, void> {
  const rooted: SpanView[] = [];
  const orphaned: SpanView[] = [];
  let group = rooted;
  for (const span of spans) {
    if (span.depth <= 0) group = span.orphan ? orphaned : rooted;
    group.push(span);
  }
  const ordered = orphaned.length === 0 ? rooted : rooted.concat(orphaned);

  const nodes: TreeNode[] = new Array(ordered.length);
  const byId = new Map<string, TreeNode>();
  // The rows whose subtree is still open, outermost first: a row closes every open row at its level or deeper.
  const open: TreeNode[] = [];
  let startMs = Infinity;
  let endMs = -Infinity;
  let orphanCount = 0;
  for (let i = 0; i < ordered.length; i++) {
    if (i > 0 && i % stepSize === 0) yield;
    const span = ordered[i];
    const depth = span.depth > 0 ? span.depth : 0;
    while (open.length > 0 && open[open.length - 1].level >= depth) open.pop()!.end = i;
    const parent = depth > 0 ? (open[open.length - 1] ?? null) : null;
    const { start, end } = timesOf(span);
    const node: TreeNode = {
      span,
      index: i,
      parent,
      end: ordered.length,
      childCount: 0,
      level: parent ? parent.level + 1 : 0,
      startMs: start,
      endMs: end,
      detached: span.orphan,
    };
    if (parent) parent.childCount++;
    if (span.orphan) orphanCount++;
    nodes[i] = node;
    byId.set(span.spanId, node);
    open.push(node);
    if (Number.isFinite(start) && start < startMs) startMs = start;
    if (Number.isFinite(end) && end > endMs) endMs = end;
  }
  if (!Number.isFinite(startMs)) startMs = 0;
  if (!Number.isFinite(endMs) || endMs < startMs) endMs = startMs;
  return { nodes, byId, startMs, endMs, orphanCount, detachedFrom: rooted.length };
}

// A live tree is rebuilt on every increment from mostly the same span objects: their parsed times are kept.
const times = new WeakMap<SpanView, { start: number; end: number }>();

function timesOf(span: SpanView): { start: number; end: number } {
  let t = times.get(span);
  if (!t) {
    const start = apiTimeMs(span.startTime);
    const endRaw = apiTimeMs(span.endTime);
    t = { start, end: Number.isFinite(endRaw) ? Math.max(endRaw, start) : start + (span.durationMs || 0) };
    times.set(span, t);
  }
  return t;
}

/** The rows currently shown: the tree's order, skipping the subtree of every collapsed row. */
export function visibleRows(tree: SpanTree, collapsed: ReadonlySet<string>): TreeNode[] {
  if (collapsed.size === 0) return tree.nodes;
  const out: TreeNode[] = [];
  for (let i = 0; i < tree.nodes.length; ) {
    const node = tree.nodes[i];
    out.push(node);
    i = node.childCount > 0 && collapsed.has(node.span.spanId) ? node.end : i + 1;
  }
  return out;
}

/** The children of a row, in order. */
export function childrenOf(tree: SpanTree, node: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  for (let j = node.index + 1; j < node.end; j = tree.nodes[j].end) out.push(tree.nodes[j]);
  return out;
}

/** The top rows (roots and orphan subtree tops), in order. */
export function topsOf(tree: SpanTree): TreeNode[] {
  const out: TreeNode[] = [];
  for (let j = 0; j < tree.nodes.length; j = tree.nodes[j].end) out.push(tree.nodes[j]);
  return out;
}

/** Every row that has children: the "collapse all" set. */
export function allParents(tree: SpanTree): Set<string> {
  const out = new Set<string>();
  for (const node of tree.nodes) if (node.childCount > 0) out.add(node.span.spanId);
  return out;
}

/** Ancestors of a row (nearest first); used to reveal a selected span inside collapsed branches. */
export function ancestorsOf(node: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  for (let p = node.parent; p; p = p.parent) out.push(p);
  return out;
}


/** Where `YYYY-MM-DDTHH:MM:SS.mmmZ` has its digits. */
const DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

function digitsAt(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
}

/**
 * A timestamp as the API writes it (`2025-01-02T03:04:05.123Z`: trace-detail.ts), read without the regular
 * expression and Date.parse of parseTimeMs, which were most of the time a 100,000-span tree took to build in
 * the browser; any other text goes through parseTimeMs, which gives the same number for this layout.
 */
export function apiTimeMs(iso: string): number {
  if (iso.length !== 24 || iso.charCodeAt(23) !== 90 /* Z */ || iso.charCodeAt(19) !== 46 /* . */ || iso.charCodeAt(10) !== 84 /* T */) return parseTimeMs(iso);
  for (let k = 0; k < DIGITS.length; k++) {
    const d = iso.charCodeAt(DIGITS[k]) - 48;
    if (d < 0 || d > 9) return parseTimeMs(iso);
  }
  const month = digitsAt(iso, 5, 7);
  const day = digitsAt(iso, 8, 10);
  const hour = digitsAt(iso, 11, 13);
  const minute = digitsAt(iso, 14, 16);
  const second = digitsAt(iso, 17, 19);
  // Out of range, Date.UTC would roll over where Date.parse refuses.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return parseTimeMs(iso);
  return Date.UTC(digitsAt(iso, 0, 4), month - 1, day, hour, minute, second) + digitsAt(iso, 20, 23);
}
