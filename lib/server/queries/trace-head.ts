import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildTree } from '../../domain';
import {
  getTraceJson, headJson, jsonNameRange, killCover, statsOf, summaryOf, tailBytes, tailOf, writeTail, type DetailOptions, type TreeRow,
} from './trace-detail';
import { readAroundTree, readEndedTreeRows, readTreeState, spanJsonOf, withRunning } from './trace-increment';
import { builtTrees, storedStamp } from './built-trees';

// `GET /api/traces/:id?first=N`: the first N spans of the tree, in the detail's order and shape, so a page shows
// its first rows before the whole detail has been read, formatted, sent and parsed (a 100,000-span tree is
// ~70 MiB of JSON). The order still comes from the whole tree, built here from the light leading columns of
// every span (no attributes, no JSON: ~1/8 of the bytes); only the N spans shown have their JSON read, by
// primary key. The answer has `partial: true` and no cursor: the client reads the detail whole next.

/** The most spans a first answer carries: it is meant to fill a screen, not to page through a tree. */
export const MAX_FIRST = 2_000;

/**
 * The trace and the first `first` spans of its tree as the UTF-8 JSON of a TraceDetailResponse with
 * `partial: true` (each span exactly as the full detail sends it), or null for an unknown trace. A tree of at
 * most `first` spans is answered whole (the full detail, with its cursor). `maxBytes` is the whole detail's
 * budget: a tree past it still gets the top of its whole tree here, and the whole read then says `truncated`.
 */
export async function getTraceHeadJson(client: ClickHouseClient, traceId: string, first: number, maxBytes: number, opts: DetailOptions = {}): Promise<Buffer | null> {
  const built = await builtTree(client, traceId, first, opts);
  // A small tree: the whole detail, in one answer.
  if (built === 'small') return getTraceJson(client, traceId, maxBytes, opts);
  if (!built) return null;
  const { index, counts, alerts, tree, running } = built;
  const stats = statsOf(traceId, counts, tree.totals, running);
  if (!stats) return null;
  const kills = opts.kills ?? [];
  const nodes = tree.nodes.slice(0, first);
  const covers = killCover(tree.nodes, kills).slice(0, first);

  // The JSON of the spans shown, and of the spans that count their usage (for the name in `spendCountedOn`).
  const needed = new Set<TreeRow>(nodes.map((n) => n.span));
  for (const n of nodes) if (n.spendCountedElsewhere) needed.add(n.spendCountedElsewhere.on);
  const json = await spanJsonOf(client, traceId, [...needed], opts);
  // A span expired meanwhile is left out: the full read follows.
  const shown = nodes.flatMap((n, i) => (json.has(n.span.spanId) ? [{ n, cover: covers[i] }] : []));
  const nameOf = (on: TreeRow) => {
    const j = json.get(on.spanId);
    return j ? { text: j.text, range: jsonNameRange(j.text, j.start, j.end) } : { text: null, range: [0, 0] as [number, number] };
  };

  const summary = summaryOf(index, stats, tree.maxDepth, alerts, kills);
  const head = `{${headJson(summary, alerts, kills, opts.budget ?? null)},"truncated":false,"partial":true,"cursor":null,"spans":[`;
  const tails = shown.map(({ n, cover }) => tailOf(n, cover, nameOf));
  let size = Buffer.byteLength(head) + 3;
  shown.forEach(({ n }, k) => {
    const j = json.get(n.span.spanId)!;
    size += 1 + j.end - 1 - j.start + tailBytes(tails[k]) + (k > 0 ? 1 : 0);
  });
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0, 'utf8');
  shown.forEach(({ n }, k) => {
    const j = json.get(n.span.spanId)!;
    if (k > 0) out[at++] = 0x2c; // ,
    out[at++] = 0x0a; // each span on its own line, as in the full detail (lib/client/detail-text.ts)
    at += j.text.copy(out, at, j.start, j.end - 1);
    at = writeTail(out, at, tails[k]);
  });
  at += out.write('\n]}', at, 'latin1');
  return out.subarray(0, at);
}

/**
 * The trace's tree and what surrounds it, or 'small' for a tree of at most `first` spans. A finished tree built
 * before, with nothing stored since, is taken as built (built-trees.ts): the spans' rows are then not read.
 */
async function builtTree(client: ClickHouseClient, traceId: string, first: number, opts: DetailOptions) {
  let state;
  if (builtTrees.has(traceId)) {
    const around = await readAroundTree(client, traceId, opts);
    if (!around) return null;
    const tree = builtTrees.get(traceId, storedStamp(around.index.last_seen_ms, around.counts?.span_count));
    if (tree) return { ...around, tree, running: 0 };
    // Changed since: only the ended spans' rows are still to read.
    state = { ...around, ended: await readEndedTreeRows(client, traceId, opts) };
  } else {
    state = await readTreeState(client, traceId, opts);
    if (!state) return null;
  }
  const { ended, started, index, counts } = state;
  const now = withRunning(ended, started);
  if (now.spans.length <= first) return 'small' as const;
  const tree = buildTree(now.spans);
  if (now.running === 0) builtTrees.set(traceId, storedStamp(index.last_seen_ms, counts?.span_count), tree);
  return { ...state, tree, running: now.running };
}
