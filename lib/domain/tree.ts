// The request tree, built once for everyone: depth, order, orphans, which model calls count toward spend, and
// per-branch (subtree) rollups.

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
  /** Start and end, µs since the epoch: siblings are ordered by start; two calls are matched by both (with 2 ms of slack). */
  start: number;
  end: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  /** A model call (llm or embedding span): its own tokens are a provider's usage. */
  countsUsage: boolean;
  /**
   * Which instrumentation made the span (its scope name, or any stable key of it): one instrumentation never
   * reports a call twice. Pass it for model calls: without it a call is never matched as the same call as
   * another instrumentation's span beside it (`spendCounting`), and totals would differ from the reads'.
   */
  scope?: string;
}

/**
 * Why a model call's own usage is not counted, and the span that counts it (`spendCounting` has the rule):
 * - `below`: model calls below it report the usage (the same call reported again by a client instrumentation
 *   nested inside, the calls an agent-level span sums, or the provider's numbers where the framework estimated).
 * - `same-call`: another instrumentation reported this very call beside it in the tree.
 */
export interface SpendCountedElsewhere<T> {
  reason: 'below' | 'same-call';
  on: T;
}

export interface TreeNode<T extends TreeInput> {
  span: T;
  depth: number;
  orphan: boolean;
  rollup: Rollup;
  /** This span's own tokens and cost are in the rollups and the trace's totals (a model call counted once). */
  countsSpend: boolean;
  /** For a model call that does not count: why, and the span that counts its usage. Null otherwise. */
  spendCountedElsewhere: SpendCountedElsewhere<T> | null;
}

export interface Tree<T extends TreeInput> {
  /** Depth-first, children by start time; rooted trees and orphan subtrees in order of their start. */
  nodes: TreeNode<T>[];
  /** Levels of the deepest branch (a lone root = 1). */
  maxDepth: number;
  /** Index in `nodes` of each node's parent; −1 for a top (a root, or an orphan). */
  parents: Int32Array;
  /** The whole trace: every span, and each model call counted once (the sum of the top nodes' rollups). */
  totals: Rollup;
}

/**
 * A buffer of at least `size` Int32s, shared by every build on this thread (builds are synchronous). Trees are
 * built by the thousand per second in the ingest stream: a dozen typed arrays per tree, each with its own
 * backing store, cost more than the build's work on trees of a few dozen spans (and kept the GC threads busy).
 */
let shared = new Int32Array(4096);
function scratch(size: number): Int32Array {
  // A huge tree's (millions of ints) is its own, not kept for the next build.
  if (size > 1 << 22) return new Int32Array(size);
  if (shared.length < size) shared = new Int32Array(Math.max(size, 2 * shared.length));
  return shared;
}

/**
 * Builds the request tree from spans in any order: depth from the nearest root, orphans (parent never
 * arrived, or a parent cycle) start their own subtree at depth 0, and each node's rollup sums its whole
 * subtree, counting each model call once (`spendCounting`). Iterative, so a 100,000-deep chain cannot
 * overflow the stack. Returns nodes in depth-first order, children by start time. `positions`:
 * `spanPositions(spans)`, when the caller has it already.
 */
export function buildTree<T extends TreeInput>(spans: readonly T[], positions?: ReadonlyMap<string, number>): Tree<T> {
  const { order, parents: parentOf, depths, orphans, maxDepth } = orderTree(spans, positions);
  const count = order.length;
  const counting = spendCounting(order, parentOf);
  const nodes: TreeNode<T>[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const span = order[i];
    const own = counting.counts[i];
    const elsewhere = counting.elsewhere[i];
    nodes[i] = {
      span,
      depth: depths[i],
      orphan: orphans[i] === 1,
      rollup: {
        spanCount: 1,
        inputTokens: own ? span.inputTokens : 0,
        outputTokens: own ? span.outputTokens : 0,
        costUsd: own ? (span.costUsd ?? 0) : 0,
        unpricedSpans: own && span.costUsd === null ? 1 : 0,
      },
      countsSpend: own,
      spendCountedElsewhere: elsewhere ? { reason: elsewhere.reason, on: order[elsewhere.on] } : null,
    };
  }
  // Children follow their parent in depth-first order: summing from the end rolls every subtree up.
  for (let i = count - 1; i > 0; i--) {
    const p = parentOf[i];
    if (p < 0) continue;
    const r = nodes[p].rollup;
    const c = nodes[i].rollup;
    r.spanCount += c.spanCount;
    r.inputTokens += c.inputTokens;
    r.outputTokens += c.outputTokens;
    r.costUsd += c.costUsd;
    r.unpricedSpans += c.unpricedSpans;
  }
  for (const n of nodes) n.rollup.costUsd = roundUsd(n.rollup.costUsd);
  return { nodes, maxDepth, parents: parentOf, totals: countedTotals(order, counting.counts) };
}

/** The whole tree's spend: every span, and the tokens and cost of the model calls that count (`spendCounting`). */
export function countedTotals(spans: readonly TreeInput[], counts: readonly boolean[]): Rollup {
  const totals: Rollup = { spanCount: spans.length, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedSpans: 0 };
  for (let i = 0; i < spans.length; i++) {
    if (!counts[i]) continue;
    const s = spans[i];
    totals.inputTokens += s.inputTokens;
    totals.outputTokens += s.outputTokens;
    totals.costUsd += s.costUsd ?? 0;
    if (s.costUsd === null) totals.unpricedSpans++;
  }
  totals.costUsd = roundUsd(totals.costUsd);
  return totals;
}

/** The tree's shape without an object per node: what `buildTree` makes its nodes of, and what the detector judges over. */
export interface TreeOrder<T extends TreeInput> {
  /** Depth-first, children by start time; rooted trees and orphan subtrees in order of their start (a re-sent span id once). */
  order: T[];
  /** Index in `order` of each node's parent; −1 for a top (a root, or an orphan). */
  parents: Int32Array;
  /** Each node's depth (a top: 0). */
  depths: Int32Array;
  /** 1 for a top whose parent never arrived (or a span caught in a parent cycle). */
  orphans: Int32Array;
  /** Levels of the deepest branch (a lone root = 1). */
  maxDepth: number;
}

/**
 * Orders spans as `buildTree` does (see there), returning positions instead of nodes. `parentAt`: each span's
 * parent's slot in `positions` (−1: none, or itself), when the caller looked them up already.
 */
export function orderTree<T extends TreeInput>(spans: readonly T[], positions?: ReadonlyMap<string, number>, parentAt?: Int32Array): TreeOrder<T> {
  // Positions, not objects: a 100,000-span tree is ordered in typed arrays (a Map and Set of span objects per
  // span took ~0.3 s of a first-rows read). A span id's slot is its last span's position (a re-sent span
  // id is one span to its children); each slot is walked once.
  const n = spans.length;
  const slotOf = positions ?? spanPositions(spans);
  // Each id once (the common case): a span's slot is its own position, with no lookup.
  const unique = slotOf.size === n;
  // The working arrays live in one reused buffer (views of it): they never outlive the build.
  const work = scratch(11 * n + 1);
  const slot = work.subarray(0, n);
  const parentSlot = work.subarray(n, 2 * n);
  const kidCount = work.subarray(2 * n, 3 * n + 1).fill(0);
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    slot[i] = unique ? i : slotOf.get(s.spanId)!;
    let p: number;
    if (parentAt) p = parentAt[i];
    else p = s.parentSpanId && s.parentSpanId !== s.spanId ? (slotOf.get(s.parentSpanId) ?? -1) : -1;
    parentSlot[i] = p;
    if (p >= 0) kidCount[p + 1]++;
  }
  // Children of each slot, contiguous (kidsAt[p] .. kidsAt[p + 1]), each run sorted by start.
  const kidsAt = kidCount;
  for (let p = 0; p < n; p++) kidsAt[p + 1] += kidsAt[p];
  const kids = work.subarray(3 * n + 1, 3 * n + 1 + kidsAt[n]);
  const fill = work.subarray(4 * n + 1, 5 * n + 1);
  fill.set(kidsAt.subarray(0, n));
  const tops: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = parentSlot[i];
    if (p < 0) tops.push(i);
    else kids[fill[p]++] = i;
  }
  // Ties broken by id, so every read of the same spans gets the same order whatever order the rows came in (and
  // a re-sent span's copies by position, as a stable sort of the rows would).
  sorting = spans;
  try {
    if (!inOrder(tops, 0, tops.length)) tops.sort(byStart);
    // Exporters mostly send an agent's steps in the order they ran (each ends before the next starts): such a run
    // of children is in order already, and a sort with a comparator copies it out and back (an allocation per parent).
    for (let p = 0; p < n; p++) {
      const from = kidsAt[p];
      const to = kidsAt[p + 1];
      if (to - from > 1 && !inOrder(kids, from, to)) kids.subarray(from, to).sort(byStart);
    }
  } finally {
    sorting = NOTHING_SORTED;
  }

  // Depth-first order with each node's parent position: every pass below is a linear scan of it.
  // Filled by position and read by count, not grown by push and read by length: in one process out of four to
  // eight, V8's optimised code for the passes below kept failing its shape check on this array (hundreds of
  // deoptimisations, the build 4× slower for the rest of the process); none in 16 processes since.
  const order: T[] = new Array(n);
  let count = 0;
  // What the caller keeps, in one allocation (views of it): an array of a tree of a few dozen spans is too big to
  // live on V8's heap, and each backing store of its own is an allocation and a release outside it.
  const kept = new Int32Array(3 * n);
  const parents = kept.subarray(0, n);
  const depths = kept.subarray(n, 2 * n);
  const orphans = kept.subarray(2 * n, 3 * n);
  const visited = work.subarray(7 * n + 1, 8 * n + 1).fill(0);
  let maxDepth = 0;
  // The walk's stack (iterative, so a 100,000-deep chain cannot overflow): per frame its position in `order`
  // and the rest of its children in `kids`.
  const frameAt = work.subarray(8 * n + 1, 9 * n + 1);
  const frameNext = work.subarray(9 * n + 1, 10 * n + 1);
  const frameEnd = work.subarray(10 * n + 1, 11 * n + 1);
  // (No closures here: the server runs under tsx, whose keepNames names every closure made, ~0.3 µs each.)
  // Each top, then every span not reached: spans caught in a parent cycle are reachable from no top, and each is
  // shown as an orphan root.
  for (let t = 0; t < tops.length + n; t++) {
    const top = t < tops.length ? tops[t] : t - tops.length;
    if (visited[slot[top]]) continue;
    let height = 0;
    // Pushes span `i` (a top first) at `depth` under `parent`.
    let i = top;
    let depth = 0;
    let parent = -1;
    let orphan = Boolean(spans[top].parentSpanId);
    for (;;) {
      if (i >= 0) {
        const at = slot[i];
        visited[at] = 1;
        frameAt[height] = count;
        frameNext[height] = kidsAt[at];
        frameEnd[height++] = kidsAt[at + 1];
        const k = count++;
        order[k] = spans[i];
        depths[k] = depth;
        parents[k] = parent;
        orphans[k] = orphan ? 1 : 0;
        if (depth + 1 > maxDepth) maxDepth = depth + 1;
        i = -1;
      }
      if (height === 0) break;
      const f = height - 1;
      if (frameNext[f] < frameEnd[f]) {
        const child = kids[frameNext[f]++];
        if (!visited[slot[child]]) {
          i = child;
          depth = depths[frameAt[f]] + 1;
          parent = frameAt[f];
          orphan = false;
        }
      } else height--;
    }
  }

  // A re-sent span id is one node: fewer nodes than spans.
  if (count < n) order.length = count;
  if (count === n) return { order, parents, depths, orphans, maxDepth };
  return { order, parents: parents.subarray(0, count), depths: depths.subarray(0, count), orphans: orphans.subarray(0, count), maxDepth };
}

/** Each span id's position in `spans` (its last, for a re-sent id): what `buildTree` takes when a caller built it already. */
export function spanPositions(spans: readonly TreeInput[]): Map<string, number> {
  const at = new Map<string, number>();
  for (let i = 0; i < spans.length; i++) at.set(spans[i].spanId, i);
  return at;
}

/** A model call that reports usage: tokens, or a positive explicit cost. */
export function reportsUsage(span: TreeInput): boolean {
  return span.countsUsage && (span.inputTokens > 0 || span.outputTokens > 0 || (span.costUsd ?? 0) > 0);
}

/**
 * Which model calls count toward spend, so that a call reported by two or more instrumentations (a framework's
 * span and the client's span for the same request) counts once; over spans in depth-first order with each one's
 * parent position (-1 for a top). Only model calls (`countsUsage`) count, and of those:
 *
 * - Spans that report the same call form a group, which holds at most one span per instrumentation (`scope`:
 *   an instrumentation reports each call once, so two parallel calls with equal usage stay two calls). Two
 *   model calls with the same input and the same output tokens (not both 0) are the same call when
 *   (a) one is nested below the other (the nearest usage-reporting model call above it): how a framework
 *       instrumentation that makes its span active (Python's) stacks over the client's; or
 *   (b) they sit side by side: from different instrumentations, their times overlap (give or take 2 ms of
 *       clock error, CLOCK_SLACK_US), neither is an ancestor of the other, and one's parent is a proper ancestor
 *       of the other. This is how the JS instrumentations stack: LangChain's span is never made active, so the
 *       client's span attaches to the caller's span, beside LangChain's (and LangChain runs its callbacks in
 *       the background, so its span may start after the client's). Pairs that ended closest together are
 *       joined first, so parallel calls with equal usage pair up call by call.
 * - Of a group, one span counts: the innermost, i.e. one with no span of its group below it; of those, one
 *   nested inside another span of its group (it can only be a client's span); then the one that ended first
 *   (the client's own span, with the provider's numbers, ends before the framework's), or the shorter when
 *   the ends are within 1 ms (see `counter`).
 * - `below`: a model call with a usage-reporting model call below it that is not the same call (different
 *   usage: the calls an agent-level span sums, or the provider's numbers where the framework estimated) does
 *   not count, and neither does the rest of its group: the calls below count instead. A model call that
 *   reports no usage does not count either when one below it does.
 * - Any other model call counts, an outer one with no usage-reporting model call below it included.
 * Each span that does not count names the span that counts its usage (`same-call` within its group, `below`
 * otherwise). Which spans count depends only on the spans, never on the order they were read in. Linear in
 * the spans, plus the comparisons of overlapping calls with equal usage from different instrumentations,
 * capped per trace (SAME_CALL_BUDGET: a real stack makes a few per call, a fan-out of 200 identical parallel
 * calls reported twice ~80,000; past the cap, as only crafted data gets, the remaining calls count as they are).
 */
const SAME_CALL_BUDGET = 100_000;

export function spendCounting(
  spans: readonly TreeInput[],
  parents: ArrayLike<number>,
): { counts: boolean[]; elsewhere: ({ reason: 'below' | 'same-call'; on: number } | null)[] } {
  const n = spans.length;
  if (eachCallAlone(spans, parents)) return { counts: spans.map((s) => s.countsUsage), elsewhere: new Array(n).fill(null) };
  const reports = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (reportsUsage(spans[i])) reports[i] = 1;
  const earlier = (a: number, b: number) => spans[a].start - spans[b].start || idOrder(spans[a].spanId, spans[b].spanId);
  const sameUsage = (a: number, b: number) => spans[a].inputTokens === spans[b].inputTokens && spans[a].outputTokens === spans[b].outputTokens;

  // Subtree extents (a node's subtree is [i, end[i]) in depth-first order), the nearest usage-reporting model
  // call above each node, and the earliest one below it.
  const end = new Int32Array(n);
  const firstBelow = new Int32Array(n).fill(-1);
  for (let i = n - 1; i >= 0; i--) {
    if (end[i] === 0) end[i] = i + 1;
    const p = parents[i];
    if (p < 0) continue;
    if (end[i] > end[p]) end[p] = end[i];
    const candidate = reports[i] ? i : firstBelow[i];
    if (candidate >= 0 && (firstBelow[p] < 0 || earlier(candidate, firstBelow[p]) < 0)) firstBelow[p] = candidate;
  }
  const above = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const p = parents[i];
    if (p >= 0) above[i] = reports[p] ? p : above[p];
  }
  const contains = (a: number, b: number) => a <= b && b < end[a];

  // Groups of spans reporting the same call (union-find), each holding at most one span per instrumentation:
  // the instrumentations of a group as bits (the first 31 of the trace; a span of any other is never joined).
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) group[i] = i;
  const scopeBits = new Int32Array(n);
  const scopeIds = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const scope = spans[i].scope;
    if (!reports[i] || scope === undefined) continue;
    let id = scopeIds.get(scope);
    if (id === undefined) scopeIds.set(scope, (id = scopeIds.size));
    if (id < 31) scopeBits[i] = 1 << id;
  }
  const find = (i: number) => {
    while (group[i] !== i) i = group[i] = group[group[i]];
    return i;
  };
  const join = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb || scopeBits[ra] === 0 || scopeBits[rb] === 0 || (scopeBits[ra] & scopeBits[rb]) !== 0) return; // an instrumentation reports each call once
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    group[drop] = keep;
    scopeBits[keep] |= scopeBits[drop];
  };
  // (a) nested: the nearest usage-reporting model call above, with the same usage.
  const nested: number[] = [];
  for (let i = 0; i < n; i++) {
    if (reports[i] && above[i] >= 0 && spans[i].inputTokens + spans[i].outputTokens > 0 && sameUsage(i, above[i])) nested.push(i);
  }
  for (const i of nested.sort(earlier)) join(i, above[i]);
  // (b) side by side: candidate pairs among calls with equal usage, closest in time joined first.
  const byUsage = new Map<number, Map<number, number[]>>();
  for (let i = 0; i < n && scopeIds.size > 1; i++) {
    const s = spans[i];
    if (!reports[i] || s.inputTokens + s.outputTokens <= 0 || s.scope === undefined) continue;
    let byOutput = byUsage.get(s.inputTokens);
    if (!byOutput) byUsage.set(s.inputTokens, (byOutput = new Map()));
    const g = byOutput.get(s.outputTokens);
    if (g) g.push(i);
    else byOutput.set(s.outputTokens, [i]);
  }
  const candidates: number[][] = [];
  for (const byOutput of byUsage.values()) {
    for (const g of byOutput.values()) if (g.length > 1 && g.some((i) => spans[i].scope !== spans[g[0]].scope)) candidates.push(g);
  }
  // In order of usage, so that the budget runs out the same way whatever order the spans came in.
  const usageOf = (g: number[]) => spans[g[0]];
  candidates.sort((a, b) => usageOf(a).inputTokens - usageOf(b).inputTokens || usageOf(a).outputTokens - usageOf(b).outputTokens);
  const hangsOff = (y: number, x: number) => parents[y] >= 0 && parents[y] !== x && contains(parents[y], x);
  // Every candidate pair, joined closest first, so parallel calls with equal usage pair up call by call.
  let px = new Int32Array(64);
  let py = new Int32Array(64);
  let apart = new Float64Array(64);
  let pairs = 0;
  let budget = SAME_CALL_BUDGET;
  for (const g of candidates) {
    g.sort(earlier);
    for (let k = 0; k < g.length && budget > 0; k++) {
      const x = g[k];
      const sx = spans[x];
      // The calls that overlap X and start with or after it (the others meet X when they are scanned).
      for (let j = k + 1; j < g.length && spans[g[j]].start <= sx.end + CLOCK_SLACK_US && budget > 0; j++, budget--) {
        const y = g[j];
        const sy = spans[y];
        if (sy.scope === sx.scope || contains(x, y) || contains(y, x)) continue;
        if (!hangsOff(y, x) && !hangsOff(x, y)) continue;
        if (pairs === px.length) {
          px = grow(px, new Int32Array(pairs * 2));
          py = grow(py, new Int32Array(pairs * 2));
          apart = grow(apart, new Float64Array(pairs * 2));
        }
        px[pairs] = x;
        py[pairs] = y;
        apart[pairs++] = Math.abs(sy.end - sx.end) + Math.abs(sy.start - sx.start) / 1024;
      }
    }
  }
  const order = new Uint32Array(pairs);
  for (let i = 0; i < pairs; i++) order[i] = i;
  order.sort((a, b) => apart[a] - apart[b] || earlier(px[a], px[b]) || earlier(py[a], py[b]));
  for (let i = 0; i < pairs; i++) join(px[order[i]], py[order[i]]);

  // A span is covered when a usage-reporting model call below it is not of its group; the earliest such call
  // names where its usage went. Per subtree, the earliest reporting call and the earliest of another group.
  const roots = new Int32Array(n);
  for (let i = 0; i < n; i++) roots[i] = find(i);
  const best = new Int32Array(n).fill(-1);
  const second = new Int32Array(n).fill(-1); // earliest whose group differs from best's
  const offer = (p: number, c: number) => {
    if (c < 0) return;
    const b = best[p];
    if (b < 0) best[p] = c;
    else if (earlier(c, b) < 0) {
      if (roots[c] !== roots[b]) second[p] = b; // else the earliest of another group is still `second`
      best[p] = c;
    } else if (roots[c] !== roots[b] && (second[p] < 0 || earlier(c, second[p]) < 0)) second[p] = c;
  };
  for (let i = n - 1; i >= 0; i--) {
    const p = parents[i];
    if (p < 0) continue;
    if (reports[i]) offer(p, i);
    offer(p, best[i]);
    offer(p, second[i]);
  }
  const outside = (i: number) => (best[i] >= 0 && roots[best[i]] !== roots[i] ? best[i] : second[i] >= 0 && roots[second[i]] !== roots[i] ? second[i] : -1);
  // Per group: a member that is covered (then the group's call counts below it), and the member that counts.
  const groupCover = new Int32Array(n).fill(-1);
  const coveredBy = new Int32Array(n).fill(-1);
  const hasMemberBelow = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!reports[i]) continue;
    coveredBy[i] = outside(i);
    if (coveredBy[i] >= 0 && groupCover[roots[i]] < 0) groupCover[roots[i]] = i;
    if (above[i] >= 0 && roots[above[i]] === roots[i]) hasMemberBelow[above[i]] = 1;
  }
  const chosen = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (!reports[i] || hasMemberBelow[i]) continue;
    const r = roots[i];
    const c = chosen[r];
    if (c < 0) chosen[r] = i;
    else {
      // Nested inside another span of its call, it is a client's span for sure; else the times tell.
      const nestedI = above[i] >= 0 && roots[above[i]] === r;
      const nestedC = above[c] >= 0 && roots[above[c]] === r;
      if (nestedI !== nestedC ? nestedI : counter(spans[i], spans[c])) chosen[r] = i;
    }
  }

  // Where each model call's usage goes: itself, or the next span to look at.
  const next = new Int32Array(n).fill(-1);
  const reason: ('below' | 'same-call' | null)[] = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    if (!spans[i].countsUsage) continue;
    const r = roots[i];
    if (!reports[i]) {
      if (firstBelow[i] >= 0) (next[i] = firstBelow[i]), (reason[i] = 'below');
    } else if (groupCover[r] >= 0) {
      const cover = groupCover[r];
      next[i] = cover === i ? coveredBy[i] : cover;
      reason[i] = 'below';
    } else if (chosen[r] !== i) {
      next[i] = chosen[r];
      reason[i] = contains(i, chosen[r]) ? 'below' : 'same-call';
    }
  }
  const counts: boolean[] = new Array(n);
  for (let i = 0; i < n; i++) counts[i] = spans[i].countsUsage && reason[i] === null;
  // Follow the hand-offs to a span that counts (each ends there but for data whose times contradict the tree;
  // then the last span reached is named).
  const target = new Int32Array(n).fill(-1);
  const seen = new Int32Array(n).fill(-1);
  const path: number[] = [];
  for (let i = 0; i < n; i++) {
    if (reason[i] === null || target[i] >= 0) continue;
    path.length = 0;
    path.push(i);
    seen[i] = i;
    let at = next[i];
    let on: number;
    for (;;) {
      if (counts[at]) on = at;
      else if (target[at] >= 0) on = target[at];
      else if (seen[at] === i || next[at] < 0) on = at;
      else {
        seen[at] = i;
        path.push(at);
        at = next[at];
        continue;
      }
      break;
    }
    for (const p of path) target[p] = on;
  }
  const elsewhere: ({ reason: 'below' | 'same-call'; on: number } | null)[] = new Array(n);
  for (let i = 0; i < n; i++) elsewhere[i] = reason[i] === null ? null : { reason: reason[i]!, on: target[i] };
  return { counts, elsewhere };
}

/**
 * Whether every model call counts as itself: none is nested below another (at any depth), and the calls that
 * report usage all come from one instrumentation, so none can be another's report of the same call. The
 * common tree; the general pass above then has nothing to group and costs ~10× this check.
 */
function eachCallAlone(spans: readonly TreeInput[], parents: ArrayLike<number>): boolean {
  const underCall = new Uint8Array(spans.length);
  let scope: string | undefined | null = null;
  for (let i = 0; i < spans.length; i++) {
    const p = parents[i];
    if (p >= 0 && (underCall[p] || spans[p].countsUsage)) underCall[i] = 1;
    const s = spans[i];
    if (!s.countsUsage) continue;
    if (underCall[i]) return false;
    if (!reportsUsage(s)) continue;
    if (scope === null) scope = s.scope;
    else if (s.scope !== scope) return false;
  }
  return true;
}

/**
 * Clocks are only so exact: the OTel JS SDK stamps a span's start with Date.now() (whole milliseconds) and its
 * end as start + a precise duration, so two spans' times are each up to 1 ms early. Calls this close are
 * taken as overlapping.
 */
const CLOCK_SLACK_US = 2_000;

/**
 * Of two spans of one call, whether `a` is taken over `b` as the one that counts, i.e. as the inner one (the
 * client's span runs inside the framework's): the one that ended first, when the ends are further apart than
 * rounded start times can blur (a framework ends after the client returns); else the shorter (durations are
 * exact, but a framework may record its start late); then the later start, then the greater id.
 */
function counter(a: TreeInput, b: TreeInput): boolean {
  if (Math.abs(a.end - b.end) > CLOCK_SLACK_US / 2) return a.end < b.end;
  const da = a.end - a.start;
  const db = b.end - b.start;
  if (da !== db) return da < db;
  if (a.end !== b.end) return a.end < b.end;
  if (a.start !== b.start) return a.start > b.start;
  return a.spanId > b.spanId;
}

function grow<A extends Int32Array | Float64Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

/** The spans `byStart` orders (set by `orderTree` while it sorts: a comparator made per tree is a closure). */
const NOTHING_SORTED: readonly TreeInput[] = [];
let sorting: readonly TreeInput[] = NOTHING_SORTED;

/** Positions into `sorting`, by start; ties by id, then position (a re-sent span's copies). */
function byStart(a: number, b: number): number {
  const x = sorting[a];
  const y = sorting[b];
  return x.start - y.start || idOrder(x.spanId, y.spanId) || a - b;
}

/** Whether `xs[from .. to)` is in `byStart` order already. */
function inOrder(xs: ArrayLike<number>, from: number, to: number): boolean {
  for (let i = from + 1; i < to; i++) if (byStart(xs[i - 1], xs[i]) > 0) return false;
  return true;
}

function idOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function roundUsd(x: number): number {
  const scaled = Math.round(x * 1e9);
  // Past ~1.8e299 dollars the scaling itself overflows: such a sum has no nano-dollar digits to round.
  return Number.isFinite(scaled) ? scaled / 1e9 : x;
}
