// The request tree as the trace API sends it: every span once, in depth-first tree order, each with its
// `depth` and `orphan` (lib/domain/tree.ts builds it, once, for everyone). The UI never rebuilds or re-sorts
// it; it derives what the rows need (parent, children count, the extent of each subtree) from that order
// in one linear pass: the subtree of row i is the rows after it whose depth is greater than its own.

import { isModelCallCategory, type Rollup, type SpanView } from '@/lib/domain';
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

/**
 * A parent that has not arrived (still running, as exporters send a span when it ends; or lost), standing for
 * the branches received under it so far: they follow one another in `nodes`, one level in, so the branch can
 * be seen, folded and killed by the id it will have before it arrives.
 */
export interface PendingParent {
  /** The id its branches name as their parent. */
  spanId: string;
  /** Its branches are the rows from..end of `SpanTree.nodes`. */
  from: number;
  end: number;
  /** Branches (their top spans) and spans under it. */
  tops: number;
  startMs: number;
  endMs: number;
  /** Its branches' rollups summed: the spend below it so far. */
  rollup: Rollup;
  /** Spans under it reported at start and not ended. */
  running: number;
  /** Killed (a kill of it is at the top of every branch received under it). */
  killed: boolean;
}

export interface SpanTree {
  /** Every span in the API's order, rooted trees first, then the orphan subtrees as one group. */
  nodes: TreeNode[];
  /** Row of the first orphan subtree's top (`nodes.length` when there is none). */
  detachedFrom: number;
  /** The orphan subtrees' parents that have not arrived, in row order (grouping their subtrees). */
  pendingParents: PendingParent[];
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
  let orphaned: SpanView[] = [];
  let group = rooted;
  for (const span of spans) {
    if (span.depth <= 0) group = span.orphan ? orphaned : rooted;
    group.push(span);
  }
  let ranges: { spanId: string; from: number; end: number }[] = [];
  if (orphaned.length > 0) ({ spans: orphaned, ranges } = byMissingParent(spans, orphaned, rooted.length));
  const ordered = orphaned.length === 0 ? rooted : rooted.concat(orphaned);
  let range = 0;

  const nodes: TreeNode[] = new Array(ordered.length);
  const byId = new Map<string, TreeNode>();
  // The rows whose subtree is still open, outermost first, with their API depths: a row closes every open row
  // at its depth or deeper. (A level is the depth, one more under a missing parent.)
  const open: TreeNode[] = [];
  const openDepth: number[] = [];
  let startMs = Infinity;
  let endMs = -Infinity;
  let orphanCount = 0;
  for (let i = 0; i < ordered.length; i++) {
    if (i > 0 && i % stepSize === 0) yield;
    const span = ordered[i];
    const depth = span.depth > 0 ? span.depth : 0;
    while (open.length > 0 && openDepth[open.length - 1] >= depth) (open.pop()!.end = i), openDepth.pop();
    const parent = depth > 0 ? (open[open.length - 1] ?? null) : null;
    const { start, end } = timesOf(span);
    while (range < ranges.length && ranges[range].end <= i) range++;
    const node: TreeNode = {
      span,
      index: i,
      parent,
      end: ordered.length,
      childCount: 0,
      level: parent ? parent.level + 1 : range < ranges.length && ranges[range].from <= i ? 1 : 0,
      startMs: start,
      endMs: end,
      detached: span.orphan,
    };
    if (parent) parent.childCount++;
    if (span.orphan) orphanCount++;
    nodes[i] = node;
    byId.set(span.spanId, node);
    open.push(node);
    openDepth.push(depth);
    if (Number.isFinite(start) && start < startMs) startMs = start;
    if (Number.isFinite(end) && end > endMs) endMs = end;
  }
  if (!Number.isFinite(startMs)) startMs = 0;
  if (!Number.isFinite(endMs) || endMs < startMs) endMs = startMs;
  return { nodes, byId, startMs, endMs, orphanCount, detachedFrom: rooted.length, pendingParents: ranges.map((r) => pendingParent(nodes, r)) };
}

/**
 * The orphan subtrees (each moved whole), those of one missing parent next to one another in the order their
 * parents first appear, and the rows each missing parent's subtrees take. A subtree whose parent is among the
 * spans (a parent cycle) or that names none stays alone, where it was.
 */
function byMissingParent(all: readonly SpanView[], orphaned: SpanView[], offset: number) {
  const present = new Set<string>();
  for (const s of all) present.add(s.spanId);
  const places: (string | SpanView[])[] = [];
  const under = new Map<string, SpanView[][]>();
  let subtree: SpanView[] = [];
  for (const span of orphaned) {
    if (span.depth > 0) {
      subtree.push(span);
      continue;
    }
    subtree = [span];
    const p = span.parentSpanId;
    if (p === null || present.has(p)) {
      places.push(subtree);
      continue;
    }
    const list = under.get(p);
    if (list) list.push(subtree);
    else (under.set(p, [subtree]), places.push(p));
  }
  if (under.size === 0) return { spans: orphaned, ranges: [] };
  const spans: SpanView[] = [];
  const ranges: { spanId: string; from: number; end: number }[] = [];
  for (const place of places) {
    if (typeof place !== 'string') {
      for (const s of place) spans.push(s);
      continue;
    }
    const from = offset + spans.length;
    for (const t of under.get(place)!) for (const s of t) spans.push(s);
    ranges.push({ spanId: place, from, end: offset + spans.length });
  }
  return { spans, ranges };
}

function pendingParent(nodes: readonly TreeNode[], r: { spanId: string; from: number; end: number }): PendingParent {
  const rollup: Rollup = { spanCount: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedSpans: 0 };
  let tops = 0;
  let killed = true;
  for (let j = r.from; j < r.end; j = nodes[j].end) {
    const t = nodes[j].span;
    tops++;
    rollup.spanCount += t.rollup.spanCount;
    rollup.inputTokens += t.rollup.inputTokens;
    rollup.outputTokens += t.rollup.outputTokens;
    rollup.costUsd += t.rollup.costUsd;
    rollup.unpricedSpans += t.rollup.unpricedSpans;
    if (!(t.killedBy?.scope === 'branch' && t.killedBy.spanId === r.spanId)) killed = false;
  }
  let startMs = Infinity;
  let endMs = -Infinity;
  let running = 0;
  for (let j = r.from; j < r.end; j++) {
    const n = nodes[j];
    if (n.startMs < startMs) startMs = n.startMs;
    if (n.endMs > endMs) endMs = n.endMs;
    if (n.span.running) running++;
  }
  return { ...r, tops, startMs, endMs, rollup, running, killed };
}

/** The missing parent whose branches hold row `index`, if any. */
export function pendingParentAt(tree: SpanTree, index: number): PendingParent | undefined {
  return tree.pendingParents.find((p) => p.from <= index && index < p.end);
}

/** The tops of a missing parent's branches, in order. */
export function pendingTops(tree: SpanTree, p: PendingParent): TreeNode[] {
  const out: TreeNode[] = [];
  for (let j = p.from; j < p.end; j = tree.nodes[j].end) out.push(tree.nodes[j]);
  return out;
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
