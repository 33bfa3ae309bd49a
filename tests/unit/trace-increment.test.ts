// The trace detail's increments (?since=): the server's plan (what to send whole, what to patch) replayed through
// the client's merge must give exactly the tree a fresh full read gives — order, depths, orphans, rollups, spend
// counting, running spans — over random trees that grow batch by batch, with orphans adopted late, spans reported
// at start and ended later, re-sent spans and a branch kill.
import { describe, expect, it } from 'vitest';
import { applyIncrement, buildTree, type Kill, type SpanChange, type SpanView, type TraceDetailResponse, type TraceIncrementResponse } from '../../lib/domain';
import { killCover, type TreeRow } from '../../lib/server/queries/trace-detail';
import { planIncrement } from '../../lib/server/queries/trace-increment';
import { tableMark, type TableMark } from '../../lib/server/queries/trace-cursor';
import { snapshotOf, type TreeSnapshot } from '../../lib/server/queries/trace-snapshots';

function prng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const id = (n: number) => n.toString(16).padStart(16, '0');

interface Version {
  row: TreeRow;
  started: boolean;
}

/** A random tree's rows, each stored in one of `batches` inserts (ms = batch × 1000). */
function randomHistory(seed: number, n: number, batches: number): Version[] {
  const rand = prng(seed);
  const out: Version[] = [];
  for (let i = 0; i < n; i++) {
    // Mostly a parent among the earlier spans; now and then one that never arrives.
    const parent = i === 0 ? null : rand() < 0.05 ? id(100_000 + i) : id(Math.floor(rand() * i));
    const llm = rand() < 0.4;
    const start = i * 1000 + Math.floor(rand() * 500);
    const row = (ingestedMs: number, running: boolean): TreeRow => ({
      spanId: id(i),
      parentSpanId: parent,
      start,
      end: running ? start : start + 2000,
      inputTokens: llm && !running ? 100 + Math.floor(rand() * 50) : 0,
      outputTokens: llm && !running ? 10 : 0,
      costUsd: llm && !running ? 0.001 : null,
      countsUsage: llm,
      scope: 'app',
      ingestedMs,
      jsonStart: 0,
      jsonEnd: 0,
      running: false,
    });
    const batch = 1 + Math.floor(rand() * batches);
    if (rand() < 0.3) {
      // Reported at start first; its ended version later, or never (still running).
      const endBatch = batch + 1 + Math.floor(rand() * 3);
      out.push({ row: row(batch * 1000, true), started: true });
      if (endBatch <= batches) out.push({ row: row(endBatch * 1000, false), started: false });
    } else {
      out.push({ row: row(batch * 1000, false), started: false });
      // Re-sent by an exporter in a later insert: the newer version is the one stored.
      if (rand() < 0.1) out.push({ row: row(Math.min(batches, batch + 2) * 1000 + 1, false), started: false });
    }
  }
  return out;
}

/** The rows a read at time `t` gets: the newest version of each span stored by then, per table (FINAL). */
function asOf(history: Version[], t: number): { ended: TreeRow[]; started: TreeRow[] } {
  const newest = (started: boolean) => {
    const m = new Map<string, TreeRow>();
    for (const v of history) if (v.started === started && v.row.ingestedMs <= t && (m.get(v.row.spanId)?.ingestedMs ?? -1) < v.row.ingestedMs) m.set(v.row.spanId, v.row);
    return [...m.values()];
  };
  return { ended: newest(false), started: newest(true) };
}

/** What the detail shows of a span: its tree fields, whether it runs, and which version it is. */
function view(node: ReturnType<typeof buildTree<TreeRow>>['nodes'][number], cover: string): SpanView {
  const killed = JSON.parse(`{${cover}}`) as Pick<SpanView, 'killed' | 'killedBy'>;
  const on = node.spendCountedElsewhere;
  return {
    spanId: node.span.spanId,
    parentSpanId: node.span.parentSpanId,
    depth: node.depth,
    orphan: node.orphan,
    rollup: node.rollup,
    countsSpend: node.countsSpend,
    spendCountedOn: on ? { spanId: on.on.spanId, name: '', reason: on.reason } : null,
    running: node.span.running,
    ...killed,
    // The version: a span stored again must reach the client.
    statusMessage: String(node.span.ingestedMs),
  } as SpanView;
}

/** The full detail at time `t`, and its cursor's times (the newest row read in each table). */
type Marks = { ended: TableMark; started: TableMark };

function fullAt(history: Version[], t: number, kills: Kill[], slack = 0): { detail: TraceDetailResponse; cursor: Marks } {
  const { ended, started } = asOf(history, t);
  const endedIds = new Set(ended.map((s) => s.spanId));
  const spans = [...ended, ...started.filter((s) => !endedIds.has(s.spanId)).map((s) => ({ ...s, running: true, countsUsage: false }))];
  const tree = buildTree(spans);
  const covers = killCover(tree.nodes, kills);
  const detail = { spans: tree.nodes.map((n, i) => view(n, covers[i])) } as TraceDetailResponse;
  return { detail, cursor: { ended: tableMark(ended, slack), started: tableMark(started, slack) } };
}

/** The increment the server would answer at time `t` to a client holding the detail at `cursor`. */
function incrementAt(history: Version[], t: number, cursor: Marks, kills: Kill[], slack = 0, held?: TreeSnapshot): TraceIncrementResponse & { held: TreeSnapshot } {
  const { ended, started } = asOf(history, t);
  const plan = planIncrement(ended, started, cursor, slack, kills, held);
  const nodes = plan.tree.nodes;
  const whole = new Set(plan.whole);
  const changes: SpanChange[] = [...plan.whole, ...plan.patched]
    .sort((a, b) => a - b)
    .map((i) => {
      const after = i > 0 ? nodes[i - 1].span.spanId : null;
      const span = view(nodes[i], plan.covers[i]);
      if (whole.has(i)) return { ...span, after };
      const { spanId, depth, orphan, killed, killedBy, rollup, countsSpend, spendCountedOn } = span;
      return { patch: true, after, spanId, depth, orphan, killed, killedBy, rollup, countsSpend, spendCountedOn };
    });
  return { increment: true, cursor: '', spanTotal: nodes.length, changes, held: snapshotOf(nodes, plan.covers) } as unknown as TraceIncrementResponse & { held: TreeSnapshot };
}

const branchKill = (spanId: string): Kill => ({ traceId: 'x'.repeat(32), spanId, scope: 'branch', reason: '', source: 'manual', alertId: null, createdAt: '', revokedAt: null, active: true });

describe('trace detail increments', () => {
  it('replayed through applyIncrement, give the full detail, batch after batch (with the last tree sent in memory, or rebuilt)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const BATCHES = 8;
      const history = randomHistory(seed, 150, BATCHES);
      const kills = seed % 5 === 0 ? [branchKill(id(3))] : [];
      const remember = seed % 3 !== 0;
      let { detail, cursor } = fullAt(history, 1000, kills);
      let held: TreeSnapshot | undefined;
      for (let t = 2000; t <= BATCHES * 1000 + 1; t += seed % 2 ? 1000 : 3001) {
        const inc = incrementAt(history, t, cursor, kills, 0, held);
        if (remember) held = inc.held;
        const merged = applyIncrement(detail, inc);
        const fresh = fullAt(history, t, kills);
        expect(merged, `seed ${seed}, t ${t}`).not.toBeNull();
        expect(merged!.spans, `seed ${seed}, t ${t}`).toEqual(fresh.detail.spans);
        // Only what changed travels.
        expect(inc.changes.length).toBeLessThanOrEqual(fresh.detail.spans.length);
        detail = merged!;
        cursor = fresh.cursor;
      }
    }
  });

  it('sends nothing when nothing was stored since, and a few changes for a few new spans', () => {
    const history = randomHistory(7, 400, 4);
    const { detail, cursor } = fullAt(history, 4001, []);
    expect(incrementAt(history, 4001, cursor, []).changes).toEqual([]);
    const grown: Version[] = [...history, { row: { ...history[0].row, spanId: id(9999), parentSpanId: id(5), ingestedMs: 5000, running: false }, started: false }];
    const inc = incrementAt(grown, 5000, cursor, []);
    const whole = inc.changes.filter((c) => !c.patch);
    expect(whole.map((c) => c.spanId)).toEqual([id(9999)]);
    // Its ancestors' rollups changed: patches, no more.
    const patches = inc.changes.filter((c) => c.patch);
    expect(patches.length).toBeGreaterThan(0);
    expect(patches.length).toBeLessThan(20);
    expect(applyIncrement(detail, inc)!.spans).toEqual(fullAt(grown, 5000, []).detail.spans);
  });

  it('sends a stretch again when a row stamped within it became visible after the read', () => {
    for (const slack of [0, 1500]) {
      const history = randomHistory(11, 300, 6);
      // The client read at 3000; a row stamped 3000 (the same millisecond), or within the slack before it, was not
      // visible yet: it is in no read of the client's.
      const late: Version = { row: { ...history[0].row, spanId: id(7777), parentSpanId: id(2), ingestedMs: 3000 - Math.floor(slack / 2), running: false }, started: false };
      const { detail, cursor } = fullAt(history, 3000, [], slack);
      const after = [...history, late];
      const inc = incrementAt(after, 6000, cursor, [], slack);
      expect(inc.changes.some((c) => c.spanId === id(7777))).toBe(true);
      expect(applyIncrement(detail, inc)!.spans).toEqual(fullAt(after, 6000, [], slack).detail.spans);
    }
  });
});

describe('applyIncrement', () => {
  const span = (spanId: string, depth: number, extra: Partial<SpanView> = {}) => ({ spanId, depth, orphan: false, rollup: { spanCount: 1, inputTokens: 0, outputTokens: 0, costUsd: 0, unpricedSpans: 0 }, ...extra }) as SpanView;
  const detail = (spans: SpanView[]) => ({ spans, cursor: 'c0' }) as TraceDetailResponse;
  const inc = (changes: SpanChange[], spanTotal: number) => ({ increment: true, cursor: 'c1', spanTotal, changes }) as unknown as TraceIncrementResponse;

  it('places new spans after the span they follow, keeps the others and their objects', () => {
    const a = span('a', 0);
    const b = span('b', 1);
    const c = span('c', 1);
    const out = applyIncrement(detail([a, b, c]), inc([{ ...span('x', 2), after: 'b' }, { ...span('y', 0), after: null }], 5))!;
    expect(out.spans.map((s) => s.spanId)).toEqual(['y', 'a', 'b', 'x', 'c']);
    expect(out.spans[1]).toBe(a);
    expect(out.cursor).toBe('c1');
  });

  it('moves a patched subtree (an orphan adopted by a parent that just arrived)', () => {
    const before = detail([span('root', 0), span('o', 0, { orphan: true }), span('o1', 1)]);
    const out = applyIncrement(
      before,
      inc(
        [
          { ...span('p', 1), after: 'root' },
          { patch: true, after: 'p', spanId: 'o', depth: 2, orphan: false, killed: false, killedBy: null, rollup: before.spans[1].rollup, countsSpend: false, spendCountedOn: null },
          { patch: true, after: 'o', spanId: 'o1', depth: 3, orphan: false, killed: false, killedBy: null, rollup: before.spans[2].rollup, countsSpend: false, spendCountedOn: null },
        ],
        4,
      ),
    )!;
    expect(out.spans.map((s) => [s.spanId, s.depth, s.orphan])).toEqual([['root', 0, false], ['p', 1, false], ['o', 2, false], ['o1', 3, false]]);
  });

  it('keeps the alerts it holds when the increment does not send them, and takes new ones when it does', () => {
    const held = { ...detail([span('a', 0)]), alerts: [{ id: 'x' }] } as unknown as TraceDetailResponse;
    expect(applyIncrement(held, inc([], 1))!.alerts).toBe(held.alerts);
    const fresh = [{ id: 'y' }] as unknown as TraceDetailResponse['alerts'];
    expect(applyIncrement(held, { ...inc([], 1), alerts: fresh })!.alerts).toBe(fresh);
  });

  it('refuses what does not fit: an unknown anchor, a patch of a span it lacks, a count that differs', () => {
    const before = detail([span('a', 0)]);
    expect(applyIncrement(before, inc([{ ...span('x', 1), after: 'nope' }], 2))).toBeNull();
    expect(applyIncrement(before, inc([{ patch: true, after: 'a', spanId: 'ghost', depth: 1, orphan: false, killed: false, killedBy: null, rollup: before.spans[0].rollup, countsSpend: false, spendCountedOn: null }], 2))).toBeNull();
    expect(applyIncrement(before, inc([], 2))).toBeNull();
    expect(applyIncrement(before, inc([], 1))?.spans).toBe(before.spans);
  });
});
