// The input every rule sees: one tree's spans, as storage holds them, and the tree structure built once by
// the shared builder (lib/domain/tree.ts: order, depth, which model calls count toward spend, totals) plus
// the indexes the rules need (parent, children in start order, pre-order subtree ranges, the true root).
// Building it is O(n log n) (sorting siblings); every rule after that is linear in the tree.
import { countedTotals, notReceivedName, orderTree, spanPositions, spendCounting, type SpanCategory, type SpanStatus } from '../lib/domain';
import { comparableSignature } from './signature';
import { CALL_CONTENT } from '../ingest/types';

/** One span of the tree, in the detector's terms. Times are µs since the epoch, as the shared tree takes them. */
export interface DetectorSpan {
  spanId: string;
  /** null for a root. */
  parentSpanId: string | null;
  name: string;
  serviceName: string;
  category: SpanCategory;
  /** '' from storage becomes null. */
  agentName: string | null;
  toolName: string | null;
  model: string | null;
  /**
   * spans.call_signature, or null when it says nothing about sameness: not a call, or a call that recorded
   * no arguments / no prompt (ingest then hashes only the tool or model name, and such calls are never
   * assumed identical). `comparableSignature` makes that decision; build spans with `detectorSpan`.
   */
  callSignature: string | null;
  status: SpanStatus;
  errorType: string | null;
  /** The span's HTTP status (`http.response.status_code`), when it recorded one. */
  httpStatus: number | null;
  statusMessage: string;
  /** Start and end, µs since the epoch (the tree orders siblings by start, and matches calls by both). */
  start: number;
  end: number;
  inputTokens: number;
  outputTokens: number;
  /** null: a model call with no known price (never counted as $0). */
  costUsd: number | null;
  /** The span is a model call (llm or embedding): its own tokens are a provider's usage. */
  countsUsage: boolean;
  /** Its instrumentation scope (spans.scope_name): the tree counts a call two instrumentations reported once. */
  scope: string;
}

/** The fields a stored span row has (the `spans` table's columns, as ingest writes them). */
export interface StoredSpanFields {
  span_id: string;
  parent_span_id: string;
  service_name: string;
  name: string;
  category: SpanCategory;
  model: string;
  agent_name: string;
  tool_name: string;
  call_signature: string;
  status: SpanStatus;
  status_message: string;
  error_type: string;
  /** Unix nanoseconds as a decimal string (as ingest writes them and the table returns them). */
  start_time: string;
  end_time: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  counts_usage: number | boolean;
  scope_name: string;
  /** Only `http.response.status_code` / `http.status_code` are read. */
  attributes?: Record<string, string>;
  /** canopy.budget.usd of the span or its resource (ingest/normalise/budget.ts). */
  budget_usd?: number | null;
  /** On a row ingest just made: whether the call recorded its arguments or input (absent on a stored row). */
  [CALL_CONTENT]?: boolean;
}

/** A stored span row → the detector's span (decides whether its call signature is comparable). */
export function detectorSpan(row: StoredSpanFields): DetectorSpan {
  const category = row.category;
  const model = row.model || null;
  const toolName = row.tool_name || null;
  // Only a failed call's status is read (as storage reads it: the retry storm's error class).
  const http = row.status === 'error' ? (row.attributes?.['http.response.status_code'] ?? row.attributes?.['http.status_code']) : undefined;
  const httpStatus = http === undefined || http === '' ? null : Number(http);
  return {
    spanId: row.span_id,
    parentSpanId: row.parent_span_id || null,
    name: row.name,
    serviceName: row.service_name,
    category,
    agentName: row.agent_name || null,
    toolName,
    model,
    callSignature: comparableSignature(row.call_signature, category, row.name, row.model, row.tool_name, row.agent_name, row[CALL_CONTENT]),
    status: row.status,
    errorType: row.error_type || null,
    httpStatus: httpStatus !== null && Number.isFinite(httpStatus) ? httpStatus : null,
    statusMessage: row.status_message,
    start: nanosToMicros(row.start_time),
    end: nanosToMicros(row.end_time),
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    costUsd: row.cost_usd,
    countsUsage: row.counts_usage === true || row.counts_usage === 1,
    scope: row.scope_name,
  };
}

/**
 * 19-digit unix nanoseconds → µs, exact to the µs (a double holds ~15.9 digits: the whole µs, 16 digits, stay
 * below 2^53). Read digit by digit: no substring to allocate and parse, twice per span.
 */
export function nanosToMicros(ns: string): number {
  const whole = ns.length - 3;
  let us = 0;
  for (let i = 0; i < whole; i++) us = us * 10 + (ns.charCodeAt(i) - 48);
  let sub = 0;
  for (let i = Math.max(0, whole); i < ns.length; i++) sub = sub * 10 + (ns.charCodeAt(i) - 48);
  return us + sub / 1e3;
}

export interface SnapshotOptions {
  traceId: string;
  /** The detector's clock (ms since the epoch). */
  now: number;
  /**
   * When storage last received a span of this tree (server ingest time, ms since the epoch). Defaults to
   * the latest span end: offline, a span arrives when it ends.
   */
  lastSeenMs?: number;
}

export interface TreeSnapshot {
  traceId: string;
  now: number;
  lastSeenMs: number;
  /**
   * The spans in tree order (depth-first, children by start time), as the shared tree orders them; every index
   * below is into this. No object per node: the rules read these arrays (trees are judged by the thousand per
   * second in the ingest stream, and a node and a rollup per span were ~150 of the ~1,300 bytes judging allocated).
   */
  spans: DetectorSpan[];
  /** Each span's depth (a top: 0). */
  depth: Int32Array;
  /** Whether a model call's own tokens and cost count toward spend (a call two instrumentations reported counts once). */
  countsSpend: readonly boolean[];
  /** Index (into `spans`) of each span's parent; -1 for a top (the root, a placeholder, or a span caught in a parent cycle). */
  parent: Int32Array;
  /** Children of each node in start order (a shared empty array for leaves). */
  children: readonly (readonly number[])[];
  /** Pre-order: the subtree of span i is spans[i .. subtreeEnd[i]). */
  subtreeEnd: Int32Array;
  /** 1 for a placeholder: a parent that has not arrived (still running, or lost), holding its children together. */
  placeholder: Uint8Array;
  /** Index of the root span (a top with no parent id), or -1 while it has not arrived. */
  root: number;
  /**
   * The root span's id; while the root has not arrived, the earliest top's: the root's own id once any of its
   * children arrived (its placeholder), else a running descendant's.
   */
  rootSpanId: string;
  /** The root span's name; '' until the root has arrived (a running tree's root name is not known yet). */
  rootName: string;
  /** The root's service, else the earliest span's. */
  serviceName: string;
  /** Levels: a lone root is 1 (as the trace list counts); the deepest span's depth is maxDepth − 1. */
  maxDepth: number;
  /** Earliest span start, ms since the epoch. */
  startMs: number;
  /** Latest start or end of any span (ms since the epoch, as `startMs`). */
  lastSpanMs: number;
  /** No root span yet: exporters send a span when it ends, so the request is still going. */
  running: boolean;
  totals: TreeTotals;
}

export interface TreeTotals {
  spans: number;
  /** Model calls counted toward spend (a call two instrumentations reported counts once). */
  modelCalls: number;
  /** Tool and model calls. */
  calls: number;
  /** Tokens and USD of the whole tree, each model call counted once (the shared tree's totals). */
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  unpricedCalls: number;
  errors: number;
}

const NO_CHILDREN: readonly number[] = Object.freeze([]);
/** Never written: a tree with no missing parent shares it. */
const NONE_MISSING: Map<string, DetectorSpan> = new Map();

/** The parents' positions of a build, in one buffer reused by every build on this thread (builds are synchronous). */
let parents = new Int32Array(1024);
function parentScratch(n: number): Int32Array {
  if (n > 1 << 22) return new Int32Array(n);
  if (parents.length < n) parents = new Int32Array(Math.max(n, 2 * parents.length));
  return parents;
}

function placeholderSpan(spanId: string, child: DetectorSpan): DetectorSpan {
  return {
    spanId,
    parentSpanId: null,
    name: `${notReceivedName(spanId)} (not received yet)`,
    serviceName: child.serviceName,
    category: 'other',
    agentName: null,
    toolName: null,
    model: null,
    callSignature: null,
    status: 'unset',
    errorType: null,
    httpStatus: null,
    statusMessage: '',
    start: child.start,
    end: child.end,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: null,
    countsUsage: false,
    scope: '',
  };
}

function firstService(spans: readonly DetectorSpan[], root: number): string {
  if (root >= 0) return spans[root].serviceName;
  let best: DetectorSpan | null = null;
  for (let i = 0; i < spans.length; i++) if (!best || spans[i].start < best.start) best = spans[i];
  return best ? best.serviceName : '';
}

export function isCall(s: DetectorSpan): boolean {
  return s.category === 'tool' || s.category === 'llm' || s.category === 'embedding';
}

/**
 * Builds the snapshot of one tree from its spans in any order. Each span id once (storage reads `spans FINAL`;
 * of duplicates the tree keeps one).
 *
 * Exporters send a span when it ends, so while a tree runs its open spans (the root, a looping agent) have
 * not arrived and their children are orphans. Each missing parent gets a placeholder node (`placeholder[i]`
 * = 1, no usage, category `other`) so its children stay together as one branch under the id the real span
 * will have: a rule judging that branch reports the same span id before and after the parent arrives.
 */
export function buildSnapshot(spans: readonly DetectorSpan[], opts: SnapshotOptions): TreeSnapshot {
  // One index of span ids, for finding missing parents and for the build (which would otherwise make its own).
  const positions = spanPositions(spans);
  // Each span's parent looked up once, here, for the build too (one lookup fewer per span).
  const parentAt = parentScratch(spans.length);
  // Made only for a tree with a parent missing (a whole tree, the common case, has none).
  let missing = NONE_MISSING;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i];
    const p = s.parentSpanId;
    const at = p === null || p === s.spanId ? -1 : positions.get(p);
    if (at !== undefined) {
      parentAt[i] = at;
      continue;
    }
    const holder = missing.get(p!);
    if (holder) {
      if (s.start < holder.start) holder.start = s.start;
      if (s.end > holder.end) holder.end = s.end;
    } else {
      if (missing === NONE_MISSING) missing = new Map();
      missing.set(p!, placeholderSpan(p!, s));
    }
  }
  let input = spans;
  if (missing.size > 0) {
    input = [...spans, ...missing.values()];
    for (let i = spans.length; i < input.length; i++) positions.set(input[i].spanId, i);
  }
  // With placeholders the build looks parents up itself (a span's parent may be one of them).
  const ordered = orderTree(input, positions, missing.size > 0 ? undefined : parentAt);
  const nodes = ordered.order;
  const depth = ordered.depths;
  const n = nodes.length;
  const countsSpend = spendCounting(nodes, ordered.parents).counts;
  // The snapshot's own arrays in one allocation (see orderTree): subtree ends, then child counts, then placeholder flags.
  const own = new ArrayBuffer(8 * n + n);
  const subtreeEnd = new Int32Array(own, 0, n);
  const childCount = new Int32Array(own, 4 * n, n);
  const placeholder = new Uint8Array(own, 8 * n, n);

  const parent = ordered.parents;
  for (let i = 0; i < n; i++) {
    if (missing.size > 0 && missing.get(nodes[i].spanId) === nodes[i]) placeholder[i] = 1;
    if (parent[i] >= 0) childCount[parent[i]]++;
  }
  const children: (readonly number[])[] = new Array(n);
  for (let i = 0; i < n; i++) children[i] = childCount[i] > 0 ? [] : NO_CHILDREN;
  // Pre-order visits children in start order, so pushing in node order keeps them sorted.
  for (let i = 0; i < n; i++) if (parent[i] >= 0) (children[parent[i]] as number[]).push(i);

  for (let i = n - 1; i >= 0; i--) {
    const kids = children[i];
    subtreeEnd[i] = kids.length > 0 ? subtreeEnd[kids[kids.length - 1]] : i + 1;
  }

  let root = -1;
  let earliestTop = -1;
  let startUs = Infinity;
  let lastUs = -Infinity;
  let maxDepth = 0;
  // Each model call counted once, as the shared tree's totals count them.
  const spend = countedTotals(nodes, countsSpend);
  const totals: TreeTotals = {
    spans: n - missing.size,
    modelCalls: 0,
    calls: 0,
    inputTokens: spend.inputTokens,
    outputTokens: spend.outputTokens,
    costUsd: spend.costUsd,
    unpricedCalls: spend.unpricedSpans,
    errors: 0,
  };
  for (let i = 0; i < n; i++) {
    const s = nodes[i];
    if (parent[i] < 0) {
      if (s.parentSpanId === null && !placeholder[i] && (root < 0 || s.start < nodes[root].start)) root = i;
      if (earliestTop < 0 || s.start < nodes[earliestTop].start) earliestTop = i;
    }
    if (placeholder[i]) continue;
    // Depth counts real spans: a placeholder on top of a branch adds a level that may not be there.
    if (depth[i] + 1 > maxDepth) maxDepth = depth[i] + 1;
    if (s.start < startUs) startUs = s.start;
    const last = Math.max(s.start, s.end);
    if (last > lastUs) lastUs = last;
    if (isCall(s)) totals.calls++;
    if (s.status === 'error') totals.errors++;
    if (countsSpend[i]) totals.modelCalls++;
  }
  const top = root >= 0 ? nodes[root] : earliestTop >= 0 ? nodes[earliestTop] : null;
  const startMs = n > 0 ? startUs / 1000 : opts.now;
  const lastSpanMs = n > 0 ? lastUs / 1000 : opts.now;
  return {
    traceId: opts.traceId,
    now: opts.now,
    lastSeenMs: opts.lastSeenMs ?? lastSpanMs,
    spans: nodes,
    depth,
    countsSpend,
    parent,
    children,
    subtreeEnd,
    placeholder,
    root,
    rootSpanId: top ? (root >= 0 || placeholder[earliestTop] ? top.spanId : (top.parentSpanId ?? top.spanId)) : '',
    rootName: root >= 0 ? nodes[root].name : '',
    serviceName: firstService(nodes, root),
    maxDepth,
    startMs,
    lastSpanMs,
    running: root < 0,
    totals,
  };
}

/** Lowest common ancestor of a set of nodes (indexes), or -1 when they sit in different top-level trees. */
export function commonAncestor(tree: TreeSnapshot, indexes: readonly number[]): number {
  if (indexes.length === 0) return -1;
  // In pre-order, the LCA of a set is the LCA of its first and last members.
  let lo = indexes[0];
  let hi = indexes[0];
  for (const i of indexes) {
    if (i < lo) lo = i;
    if (i > hi) hi = i;
  }
  let a = lo;
  while (a >= 0 && tree.subtreeEnd[a] <= hi) a = tree.parent[a];
  return a;
}

/**
 * Most children of node `i` running at once (a sweep over their start/end times; a child that ends when
 * another starts does not overlap it). A fan-out is width: 30 steps one after another are not 30 workers.
 */
export function concurrentChildren(tree: TreeSnapshot, i: number): number {
  const kids = tree.children[i];
  if (kids.length <= 1) return kids.length;
  // Children come in start order: when each starts once the ones before it have all ended (an agent's steps,
  // the common case) one runs at a time, found without sorting.
  let lastEnd = -Infinity;
  let oneAtATime = true;
  for (const k of kids) {
    const s = tree.spans[k];
    if (s.start < lastEnd) {
      oneAtATime = false;
      break;
    }
    lastEnd = Math.max(lastEnd, s.end, s.start);
  }
  if (oneAtATime) return 1;
  const starts = new Float64Array(kids.length);
  const ends = new Float64Array(kids.length);
  for (let k = 0; k < kids.length; k++) {
    const s = tree.spans[kids[k]];
    starts[k] = s.start;
    ends[k] = Math.max(s.end, s.start);
  }
  starts.sort();
  ends.sort();
  let peak = 0;
  let open = 0;
  for (let a = 0, b = 0; a < starts.length; ) {
    if (starts[a] < ends[b]) {
      open++;
      a++;
      if (open > peak) peak = open;
    } else {
      open--;
      b++;
    }
  }
  return peak;
}

/** The name a person would call a span by: its agent, its tool, else its span name. */
export function displayName(s: DetectorSpan): string {
  return s.agentName ?? s.toolName ?? s.name;
}
