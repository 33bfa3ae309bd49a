// The trace list: its indexes (migrations/005_trace_list_index.sql) and queries (lib/server/queries/trace-list.ts)
// called directly on the real engine with spans whose ingest times the test sets, then GET /api/traces on a
// running Canopy fed by the stock exporters and the simulator, then the list UI in Chromium.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { TraceSummary } from '../lib/domain';
import { openStorage, type Storage } from '../lib/server/storage/storage';
import { loadConfig } from '../lib/server/config';
import { migrate } from '../lib/server/storage/migrations';
import { decodeCursor, encodeCursor, listTraces, type SortOrder, type TraceListQuery, type TraceSort } from '../lib/server/queries/trace-list';
import { tracesTouchedSince } from '../lib/server/queries/trace-activity';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, hex, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { getJson, listTraces as getList } from './helpers/api';

const ROOT = path.resolve(import.meta.dirname, '..');
const MIGRATIONS = path.join(ROOT, 'migrations');

// --- spans written straight into the engine, with the ingest time the test chooses ----------------------------

interface SpanSpec {
  trace: number;
  span: number;
  parent?: number;
  ingestedMs: number;
  startMs?: number;
  endMs?: number;
  service?: string;
  name?: string;
  agent?: string;
  tool?: string;
  model?: string;
  errorType?: string;
  error?: boolean;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number | null;
}

const traceId = (n: number) => `${n.toString(16).padStart(8, '0')}${'ab'.repeat(12)}`;
const spanId = (trace: number, span: number) => `${trace.toString(16).padStart(8, '0')}${span.toString(16).padStart(8, '0')}`;
const secs = (ms: number) => (ms / 1000).toFixed(3);
// Recent enough that retention (30 days from ingest) keeps every row the tests write.
const T0 = Math.floor(Date.now() / 86_400_000 - 2) * 86_400_000;

function spanRow(s: SpanSpec) {
  const llm = s.model !== undefined;
  return {
    trace_id: traceId(s.trace),
    span_id: spanId(s.trace, s.span),
    parent_span_id: s.parent === undefined ? '' : spanId(s.trace, s.parent),
    service_name: s.service ?? 'svc',
    name: s.name ?? (llm ? `chat ${s.model}` : 'step'),
    kind: 1,
    status: s.error ? 'error' : 'ok',
    start_time: secs(s.startMs ?? s.ingestedMs - 100),
    end_time: secs(s.endMs ?? s.ingestedMs - 10),
    category: llm ? 'llm' : s.tool ? 'tool' : 'agent',
    model: s.model ?? '',
    input_tokens: s.inputTokens ?? 0,
    output_tokens: s.outputTokens ?? 0,
    cost_usd: s.costUsd ?? null,
    counts_usage: llm ? 1 : 0,
    agent_name: s.agent ?? '',
    tool_name: s.tool ?? '',
    error_type: s.errorType ?? '',
    retention_days: 30,
    ingested_at: secs(s.ingestedMs),
  };
}

/** One insert (one group commit): the materialized views see these spans together. */
async function insert(storage: Storage, spans: SpanSpec[]): Promise<void> {
  await storage.client.insert({ table: 'spans', values: spans.map(spanRow), format: 'JSONEachRow' });
}

const query = (q: Partial<TraceListQuery>): TraceListQuery => ({ limit: 50, cursor: null, service: '', q: '', sort: 'activity', order: 'desc', ...q });

/** Every page, in order; `between(n)` runs after page n (changes made while a client pages). */
async function pageAll(storage: Storage, q: Partial<TraceListQuery>, between?: (page: number) => Promise<void>): Promise<TraceSummary[]> {
  const out: TraceSummary[] = [];
  let cursor: TraceListQuery['cursor'] = null;
  for (let page = 1; page < 1000; page++) {
    const res = await listTraces(storage.client, query({ ...q, cursor }));
    out.push(...res.traces);
    if (!res.nextCursor) return out;
    cursor = decodeCursor(res.nextCursor);
    expect(cursor).not.toBeNull();
    await between?.(page);
  }
  throw new Error('did not end');
}

const ids = (traces: TraceSummary[]) => traces.map((t) => t.traceId);

function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `canopy-trace-list-${label}-`));
}

describe('trace list queries on the real engine', () => {
  let storage: Storage;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('q');
    storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: dir }));
    await migrate(storage.client, MIGRATIONS);
  });
  afterAll(async () => {
    await storage?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  // 30 traces, trace i last active at T0 + i s, with cost, spans, tokens and errors that order differently.
  const N = 30;
  const costOf = (i: number) => ((i * 7) % N) / 100;
  const spansOf = (i: number) => 1 + ((i * 11) % 5);
  const errorsOf = (i: number) => (i * 13) % 4;
  beforeAll(async () => {
    const spans: SpanSpec[] = [];
    for (let i = 1; i <= N; i++) {
      const at = T0 + i * 1000;
      spans.push({ trace: i, span: 1, ingestedMs: at, startMs: at - 100 - i * 37, endMs: at - 5, service: i % 2 ? 'odd-svc' : 'even-svc', name: `invoke_agent Agent${i}`, agent: `Agent${i}` });
      for (let k = 2; k <= spansOf(i); k++) {
        spans.push({ trace: i, span: k, parent: 1, ingestedMs: at - k, model: 'gpt-4o', inputTokens: 100 * i, outputTokens: k, costUsd: k === 2 ? costOf(i) : 0, error: k - 2 < errorsOf(i), errorType: k - 2 < errorsOf(i) ? 'RateLimitError' : '' });
      }
      if (spansOf(i) === 1 && errorsOf(i) > 0) spans[spans.length - 1].error = true;
    }
    await insert(storage, spans);
  });

  it('lists by last activity and pages exactly while traces are touched and new ones arrive (both orders)', async () => {
    const byActivity = Array.from({ length: N }, (_, k) => traceId(N - k));
    let touch = 0;
    const desc = await pageAll(storage, { limit: 4 }, async () => {
      // Between pages: a listed trace, a trace further down and a brand-new one all get activity now.
      touch++;
      await insert(storage, [
        { trace: N - 1, span: 100 + touch, parent: 1, ingestedMs: T0 + 100_000 + touch * 10 },
        { trace: 3, span: 100 + touch, parent: 1, ingestedMs: T0 + 100_001 + touch * 10 },
        { trace: 1000 + touch, span: 1, ingestedMs: T0 + 100_002 + touch * 10 },
      ]);
    });
    // The list as it was when paging began: every trace once, in its place then; the new ones not at all.
    expect(ids(desc)).toEqual(byActivity);
    // A fresh first page has the touched and the new traces on top.
    const fresh = await listTraces(storage.client, query({ limit: 5 }));
    expect(ids(fresh.traces).slice(0, 3)).toEqual([traceId(1000 + touch), traceId(3), traceId(N - 1)]);
    // Placed where it was, but shown with its last activity when its page was read.
    expect(Date.parse(desc.find((t) => t.traceId === traceId(3))!.lastSeen)).toBeGreaterThan(T0 + 100_000);

    const before = (await pageAll(storage, { limit: 1000, order: 'asc' })).map((t) => t.traceId);
    let more = 0;
    const asc = await pageAll(storage, { limit: 7, order: 'asc' }, async () => {
      more++;
      await insert(storage, [
        { trace: 2, span: 200 + more, parent: 1, ingestedMs: T0 + 200_000 + more * 10 },
        { trace: 2000 + more, span: 1, ingestedMs: T0 + 200_001 + more * 10 },
      ]);
    });
    expect(ids(asc)).toEqual(before);
  });

  it('sorts by start, duration, spans, tokens, cost and errors, both ways, paging by cursor', async () => {
    const all = (await pageAll(storage, { limit: 500 })).filter((t) => t.traceId.endsWith('ab'.repeat(12)));
    const key: Record<Exclude<TraceSort, 'activity'>, (t: TraceSummary) => number> = {
      start: (t) => Date.parse(t.startTime),
      duration: (t) => t.durationMs,
      spans: (t) => t.spanCount,
      tokens: (t) => t.inputTokens + t.outputTokens,
      cost: (t) => t.costUsd,
      errors: (t) => t.errorCount,
    };
    for (const sort of Object.keys(key) as (keyof typeof key)[]) {
      for (const order of ['desc', 'asc'] as SortOrder[]) {
        const paged = await pageAll(storage, { limit: 4, sort, order });
        expect(new Set(ids(paged)).size).toBe(paged.length);
        expect(ids(paged).sort()).toEqual(ids(all).sort());
        const keys = paged.map(key[sort]);
        const sorted = [...keys].sort((a, b) => (order === 'desc' ? b - a : a - b));
        expect(keys, `${sort} ${order}`).toEqual(sorted);
      }
    }
    // The list's own numbers for the cost sort are the exact ones.
    const top = await listTraces(storage.client, query({ sort: 'cost', limit: 1 }));
    const costliest = Array.from({ length: N }, (_, k) => k + 1).filter((i) => spansOf(i) >= 2).sort((a, b) => costOf(b) - costOf(a))[0];
    expect(top.traces[0]).toMatchObject({ traceId: traceId(costliest), costUsd: costOf(costliest) });
  });

  it('filters by service and by search text (agent, model, error type, trace and span ids), alone and together', async () => {
    const odd = await pageAll(storage, { service: 'odd-svc', limit: 3 });
    expect(odd.length).toBeGreaterThan(0);
    expect(odd.every((t) => Number.parseInt(t.traceId.slice(0, 8), 16) % 2 === 1)).toBe(true);
    expect(ids((await listTraces(storage.client, query({ q: 'agent17' }))).traces)).toEqual([traceId(17)]);
    expect(ids((await listTraces(storage.client, query({ q: 'AGENT17' }))).traces)).toEqual([traceId(17)]);
    const withErrors = Array.from({ length: N }, (_, k) => k + 1).filter((i) => errorsOf(i) > 0 && spansOf(i) >= 2);
    expect(ids((await listTraces(storage.client, query({ q: 'ratelimit', limit: 500 }))).traces).sort()).toEqual(withErrors.map(traceId).sort());
    const even = await listTraces(storage.client, query({ q: 'ratelimit', service: 'even-svc', limit: 500 }));
    expect(ids(even.traces).sort()).toEqual(withErrors.filter((i) => i % 2 === 0).map(traceId).sort());
    expect(ids((await listTraces(storage.client, query({ q: traceId(21).slice(0, 12) }))).traces)).toEqual([traceId(21)]);
    expect(ids((await listTraces(storage.client, query({ q: spanId(22, 1) }))).traces)).toEqual([traceId(22)]);
    // `%` and `_` are characters, not patterns.
    expect((await listTraces(storage.client, query({ q: 'agent1_' }))).traces).toEqual([]);
    expect((await listTraces(storage.client, query({ q: '%' }))).traces).toEqual([]);
  });

  it('takes the window path for common filters and the candidate path for rare ones, exactly, while traces change', async () => {
    // Half the traces in one service: common, read in activity order. The older half of the odd ones in
    // another: common too, but absent from the newest windows, so the read goes through several, growing.
    const base = 10_000;
    const n = 4600;
    await storage.client.command({
      query: `INSERT INTO spans (trace_id, span_id, parent_span_id, service_name, name, status, start_time, end_time, tool_name, retention_days, ingested_at)
        SELECT concat(lower(leftPad(hex(toUInt32(${base} + number)), 8, '0')), repeat('ab', 12)) AS t, concat(lower(leftPad(hex(toUInt32(${base} + number)), 8, '0')), '00000001'), '',
          multiIf(number % 2 = 0, 'many-even', number < ${n / 2}, 'old-odd', 'many-odd'), 'invoke_agent Bulk', 'ok',
          fromUnixTimestamp64Milli(toInt64(${T0 + 10_000_000} + number * 10 - 5)), fromUnixTimestamp64Milli(toInt64(${T0 + 10_000_000} + number * 10 - 1)),
          if(number % 500 = 0, 'rare_tool', 'common_tool'), 30, fromUnixTimestamp64Milli(toInt64(${T0 + 10_000_000} + number * 10))
        FROM numbers(${n})`,
    });
    const bulk = (i: number) => traceId(base + i);
    const newestFirst = Array.from({ length: n }, (_, i) => n - 1 - i);
    let k = 0;
    const odd = await pageAll(storage, { service: 'many-odd', limit: 300 }, async () => {
      k++;
      await insert(storage, [
        { trace: base + n - 1, span: 50 + k, parent: 1, ingestedMs: T0 + 20_000_000 + k, service: 'other' },
        { trace: base + n + k * 2 + 1, span: 1, ingestedMs: T0 + 20_000_000 + k, service: 'many-odd' },
      ]);
    });
    expect(ids(odd)).toEqual(newestFirst.filter((i) => i % 2 === 1 && i >= n / 2).map(bulk));
    const old = await pageAll(storage, { service: 'old-odd', limit: 500 });
    expect(ids(old)).toEqual(newestFirst.filter((i) => i % 2 === 1 && i < n / 2).map(bulk));

    const rare = await listTraces(storage.client, query({ q: 'RARE_tool', limit: 500 }));
    expect(ids(rare.traces)).toEqual(newestFirst.filter((i) => i % 500 === 0).map(bulk));
    // Trace n - 1 got spans while the list was paged: it is the newest activity now, and the longest.
    const common = await listTraces(storage.client, query({ q: 'common_tool', limit: 5 }));
    expect(ids(common.traces)).toEqual([n - 1, n - 2, n - 3, n - 4, n - 5].map(bulk));
    const bySpans = await listTraces(storage.client, query({ q: 'common_tool', sort: 'spans', limit: 3 }));
    expect(bySpans.traces.map((t) => t.spanCount)).toEqual([1 + k, 1, 1]);
    expect(bySpans.traces[0].traceId).toBe(bulk(n - 1));
  });

  it('a search matches a trace by a span of an older insert, outside the activity window that lists it', async () => {
    // 300 traces of one insert each; every third one also got, long before, a span with the searched error
    // type, in an insert of its own: the newest windows hold only the traces' newer, non-matching rows.
    const base = 30_000;
    const n = 300;
    const early = Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === 0);
    await insert(storage, early.map((i) => ({ trace: base + i, span: 2, parent: 1, ingestedMs: T0 + 30_000_000 + i, errorType: 'QuotaExceededError', error: true })));
    for (let i = 0; i < n; i += 50) {
      await insert(storage, Array.from({ length: 50 }, (_, j) => ({ trace: base + i + j, span: 1, ingestedMs: T0 + 31_000_000 + (i + j) * 10, tool: 'bulk_tool' })));
    }
    const newestFirst = early.slice().reverse().map((i) => traceId(base + i));
    const found = await pageAll(storage, { q: 'quotaexceeded', limit: 20 });
    expect(ids(found)).toEqual(newestFirst);
    // ... and a trace whose only rows are in the window is decided there: none of the others match.
    const none = await listTraces(storage.client, query({ q: 'quotaexceeded_not_there', limit: 5 }));
    expect(none.traces).toEqual([]);
  });

  it('reports the traces touched since a watermark, oldest first, page by page', async () => {
    // A watermark (ms, '') sits before every trace active at that millisecond.
    const since = { lastSeenMs: T0 + 25_000, traceId: '' };
    const first = await tracesTouchedSince(storage.client, since, 3);
    expect(first.traces).toEqual([25, 26, 27].map((i) => ({ traceId: traceId(i), lastSeenMs: T0 + i * 1000 })));
    expect(first.watermark).toEqual(first.traces[2]);
    const next = await tracesTouchedSince(storage.client, first.watermark, 2);
    expect(next.traces[0]).toEqual({ traceId: traceId(28), lastSeenMs: T0 + 28_000 });
    expect(next.traces).toHaveLength(2);
    expect(next.traces[1].lastSeenMs).toBeGreaterThanOrEqual(T0 + 29_000);
    const none = await tracesTouchedSince(storage.client, { lastSeenMs: T0 + 1e12, traceId: '' }, 10);
    expect(none).toEqual({ traces: [], watermark: { lastSeenMs: T0 + 1e12, traceId: '' } });
  });

  it('counts a span re-sent inside one insert once in the sort keys; the shown numbers are exact either way', async () => {
    const t = 5000;
    const root = { trace: t, span: 1, ingestedMs: T0 + 50_000_000, model: 'gpt-4o', inputTokens: 10, outputTokens: 1, costUsd: 0.5 };
    await insert(storage, [root, root]);
    const key = async () => (await storage.client.query({ query: `SELECT toString(sum(span_count)) AS n, toString(sum(cost_nanos)) AS c FROM traces WHERE trace_id = '${traceId(t)}'`, format: 'JSONEachRow' })).json<{ n: string; c: string }>();
    expect(await key()).toEqual([{ n: '1', c: '500000000' }]);
    // Re-sent in a later insert: the key counts it again (an approximation the docs state); the list does not.
    await insert(storage, [{ ...root, ingestedMs: T0 + 50_000_100 }]);
    expect(await key()).toEqual([{ n: '2', c: '1000000000' }]);
    const listed = (await listTraces(storage.client, query({ q: traceId(t) }))).traces[0];
    expect(listed).toMatchObject({ spanCount: 1, costUsd: 0.5, inputTokens: 10 });
  });

  it('refuses cursors it did not issue, including unsafe integers, and round-trips its own', () => {
    const good = { sort: 'cost' as const, order: 'desc' as const, key: '18446744073709551615', traceId: traceId(1), asOfMs: null };
    expect(decodeCursor(encodeCursor(good))).toEqual(good);
    const act = { sort: 'activity' as const, order: 'asc' as const, key: String(T0), traceId: traceId(2), asOfMs: T0 + 5 };
    expect(decodeCursor(encodeCursor(act))).toEqual(act);
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const junk of [
      'abc',
      b64(`9999999999999999:${'a'.repeat(32)}`), // the old format with an unsafe integer
      b64(`activity:desc:9999999999999999:${'a'.repeat(32)}:1`),
      b64(`activity:desc:1:${'a'.repeat(32)}:9999999999999999`),
      b64(`activity:desc:1:${'a'.repeat(32)}`), // no list time
      b64(`cost:desc:18446744073709551616:${'a'.repeat(32)}`), // past UInt64
      b64(`cost:desc:-1:${'a'.repeat(32)}`),
      b64(`start:desc:9223372036854775808:${'a'.repeat(32)}`), // past Int64
      b64(`cost:desc:1:${'a'.repeat(32)}:5`),
      b64(`cost:sideways:1:${'a'.repeat(32)}`),
      b64(`name:desc:1:${'a'.repeat(32)}`),
      b64(`cost:desc:1:${'A'.repeat(32)}`),
    ]) {
      expect(decodeCursor(junk), junk).toBeNull();
    }
  });

  it('lists every trace on the first page when its newest activity rows belong to a few busy traces', async () => {
    // Five running traces stored by twenty inserts each (the simulator's trees, one batch after another), then
    // three new ones: the first window of the activity index is all but full of the busy five, so the page
    // needs a second window, and the three new traces are only in the first.
    // (Newer than anything the other tests stored.)
    const at = Date.now() + 3_600_000;
    const busy = [0, 1, 2, 3, 4].map((t) => 90_000 + t);
    for (let k = 0; k < 20; k++) await insert(storage, busy.map((trace) => ({ trace, span: 1 + k, ingestedMs: at + k * 10 })));
    for (const [k, trace] of [90_010, 90_011, 90_012].entries()) await insert(storage, [{ trace, span: 1, ingestedMs: at + 1000 + k * 10 }]);
    const page = ids((await listTraces(storage.client, query({}))).traces);
    expect(page.slice(0, 3)).toEqual([traceId(90_012), traceId(90_011), traceId(90_010)]);
    expect(new Set(page.slice(3, 8))).toEqual(new Set(busy.map(traceId)));
  });

  it("keeps a large finished trace's numbers exact across list reads while spans still arrive for it", async () => {
    // Large enough to be remembered between reads (trace-stats.ts): each read must still show what is stored.
    const big = 91_000;
    const at = Date.now() - 3_600_000;
    const call = (span: number, ingestedMs: number): SpanSpec => ({ trace: big, span, parent: 1, ingestedMs, model: 'gpt-4o', inputTokens: 10, outputTokens: 1, costUsd: 0.001 });
    await insert(storage, [{ trace: big, span: 1, ingestedMs: at, agent: 'Big' }, ...Array.from({ length: 2_500 }, (_, k) => call(2 + k, at))]);
    const shown = async () => (await listTraces(storage.client, query({ q: traceId(big) }))).traces.find((t) => t.traceId === traceId(big))!;
    for (let read = 0; read < 2; read++) expect((await shown()).spanCount).toBe(2_501);
    // A late span, stored long ago by now, then one stored just now: each is counted at the next read.
    await insert(storage, [call(10_000, at + 60_000)]);
    expect(await shown()).toMatchObject({ spanCount: 2_502, inputTokens: 25_010 });
    await insert(storage, [call(10_001, Date.now())]);
    for (let read = 0; read < 2; read++) expect((await shown()).spanCount).toBe(2_503);
  });
});

describe('upgrading an install: migration 005 builds the indexes from the spans already stored', () => {
  let dir: string;
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the list, with its keys, and puts retention on the new tables', async () => {
    dir = tempDir('upgrade');
    const old = tempDir('migrations-004');
    for (const f of fs.readdirSync(MIGRATIONS).filter((f) => Number.parseInt(f, 10) <= 4)) fs.copyFileSync(path.join(MIGRATIONS, f), path.join(old, f));
    const storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: dir }));
    try {
      await migrate(storage.client, old);
      const spans: SpanSpec[] = [];
      for (let i = 1; i <= 5; i++) {
        spans.push({ trace: i, span: 1, ingestedMs: T0 + i * 1000, name: `old trace ${i}`, agent: 'Legacy' });
        spans.push({ trace: i, span: 2, parent: 1, ingestedMs: T0 + i * 1000 - 1, model: 'gpt-4o', inputTokens: i, outputTokens: 1, costUsd: i / 10 });
      }
      await insert(storage, spans);
      await insert(storage, [spans[0]]); // a re-sent span, not yet merged: the rebuild reads FINAL
      expect(await migrate(storage.client, MIGRATIONS)).toContain('005_trace_list_index.sql');
      expect(ids((await listTraces(storage.client, query({}))).traces)).toEqual([5, 4, 3, 2, 1].map(traceId));
      const byCost = await listTraces(storage.client, query({ sort: 'cost', order: 'asc', limit: 2 }));
      expect(byCost.traces.map((t) => t.costUsd)).toEqual([0.1, 0.2]);
      expect(ids((await listTraces(storage.client, query({ q: 'legacy' }))).traces)).toHaveLength(5);
      const spanCounts = await (await storage.client.query({ query: 'SELECT toString(sum(span_count)) AS n FROM traces', format: 'JSONEachRow' })).json<{ n: string }>();
      expect(spanCounts).toEqual([{ n: '10' }]);
      // New spans after the upgrade reach both indexes.
      await insert(storage, [{ trace: 9, span: 1, ingestedMs: T0 + 9000, agent: 'New' }]);
      expect(ids((await listTraces(storage.client, query({ limit: 1 }))).traces)).toEqual([traceId(9)]);
      const tables = await (await storage.client.query({ query: `SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN ('traces', 'trace_activity', 'trace_search') ORDER BY name`, format: 'JSONEachRow' })).json<{ name: string; engine_full: string }>();
      expect(tables.map((t) => t.name)).toEqual(['trace_activity', 'trace_search', 'traces']);
      for (const t of tables) expect(t.engine_full).toMatch(/TTL toDateTime\(last_seen\) \+ toIntervalDay\(retention_days\)/);
    } finally {
      await storage.close();
      fs.rmSync(old, { recursive: true, force: true });
    }
  });
});

// --- a running Canopy ------------------------------------------------------------------------------------------

function simulate(canopy: RunningCanopy, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sim/cli.ts', '--endpoint', canopy.otlpUrl, '--api', canopy.url, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('GET /api/traces on a running Canopy', () => {
  let canopy: RunningCanopy;
  beforeAll(async () => {
    canopy = await startCanopy();
  });
  afterAll(async () => {
    await canopy?.stop();
  });

  it('?q=run_tests finds the simulator\'s loop tree (and only trees that ran that tool)', async () => {
    const run = await simulate(canopy, ['--scenario', 'loop,normal', '--once', '--fast', '--seed', '7']);
    expect(run.code, run.stderr).toBe(0);
    const trees = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { scenario: string; traceId: string; baselineFor?: string });
    const loop = trees.find((t) => t.scenario === 'loop' && !t.baselineFor)!;
    const found = await eventually(async () => {
      const { traces } = await getList(canopy.url, '?q=run_tests');
      return traces.some((t) => t.traceId === loop.traceId) ? traces : undefined;
    }, 30_000, 'the loop tree in ?q=run_tests');
    expect(ids(found)).toEqual([loop.traceId]);
    expect(ids((await getList(canopy.url, '?q=RUN_Tests')).traces)).toEqual([loop.traceId]);
    expect(ids((await getList(canopy.url, '?q=codingagent')).traces)).toEqual([loop.traceId]); // the agent
  });

  it('searches agents, tools, models, error types, span names, services and span ids, sent by the stock exporter', async () => {
    const rec = recordingTracer('search-svc-Beta');
    const root = startSpan(rec.tracer, 'invoke_agent Navigator', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Navigator' });
    const tool = startSpan(rec.tracer, 'execute_tool geo_lookup', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'geo_lookup' }, root);
    tool.setAttribute('error.type', 'QuotaExceededError');
    tool.setStatus({ code: 2, message: 'quota' });
    tool.end();
    const chat = startSpan(rec.tracer, 'chat', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'mistral-large-2407', 'gen_ai.usage.input_tokens': 10, 'gen_ai.usage.output_tokens': 2 }, root);
    chat.end();
    root.end();
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    const { traceId: id } = hex(spans[0]);
    const toolSpan = hex(spans.find((s) => s.name === 'execute_tool geo_lookup')!).spanId;
    await eventually(async () => ((await getList(canopy.url, `?q=${id}`)).traces.length ? true : undefined), 20_000, 'the trace listed');
    for (const q of ['navigator', 'GEO_LOOKUP', 'Mistral-Large', 'quotaexceeded', 'execute_tool geo', 'svc-beta', toolSpan, id.slice(0, 10)]) {
      const { traces } = await getList(canopy.url, `?q=${encodeURIComponent(q)}`);
      expect(ids(traces), q).toEqual([id]);
    }
    expect((await getList(canopy.url, '?q=navigatorx')).traces).toEqual([]);
    expect(ids((await getList(canopy.url, `?q=navigator&service=search-svc-Beta`)).traces)).toEqual([id]);
    expect((await getList(canopy.url, `?q=navigator&service=other`)).traces).toEqual([]);
  });

  it('sort=cost&order=desc lists by cost and pages correctly while new traces arrive', async () => {
    const exporter = exporterFor(canopy.otlpUrl);
    const costly = async (tokens: number): Promise<string> => {
      const rec = recordingTracer('cost-svc');
      const root = startSpan(rec.tracer, 'invoke_agent Spender', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Spender' });
      startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': tokens, 'gen_ai.usage.output_tokens': 10 }, root).end();
      root.end();
      const spans = rec.finished();
      await sendOk(exporter, spans);
      return hex(spans[0]).traceId;
    };
    const existing: string[] = [];
    for (let i = 1; i <= 9; i++) existing.push(await costly(i * 100_000));
    await eventually(async () => {
      const { traces } = await getList(canopy.url, '?service=cost-svc&limit=100');
      return traces.length >= 9 ? true : undefined;
    }, 20_000, 'nine costly traces');

    const seen: TraceSummary[] = [];
    let cursor: string | null = null;
    let arrivals = 0;
    do {
      const res = await getList(canopy.url, `?service=cost-svc&sort=cost&order=desc&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.traces);
      cursor = res.nextCursor;
      // Between pages: one trace costlier than everything, one cheaper than everything.
      arrivals++;
      await costly(5_000_000 + arrivals);
      await costly(100 + arrivals);
    } while (cursor);
    expect(new Set(ids(seen)).size).toBe(seen.length);
    for (const id of existing) expect(ids(seen)).toContain(id);
    const costs = seen.map((t) => t.costUsd);
    expect(costs).toEqual([...costs].sort((a, b) => b - a));
    // The top of a fresh list is the costliest arrival.
    const fresh = await getList(canopy.url, '?service=cost-svc&sort=cost&limit=1');
    expect(fresh.traces[0].inputTokens).toBe(5_000_000 + arrivals);
  });

  it('answers 400 to an unknown sort or order and to a cursor from another sort', async () => {
    expect((await getJson(`${canopy.url}/api/traces?sort=name`)).status).toBe(400);
    expect((await getJson(`${canopy.url}/api/traces?order=up`)).status).toBe(400);
    expect((await getJson(`${canopy.url}/api/traces?limit=501`)).status).toBe(400);
    const res = await getList(canopy.url, '?sort=cost&limit=1');
    expect(res.nextCursor).toBeTruthy();
    const other = await getJson<{ error: string }>(`${canopy.url}/api/traces?sort=spans&limit=1&cursor=${res.nextCursor}`);
    expect(other.status).toBe(400);
    expect(other.body.error).toMatch(/cursor/);
  });

  describe('the list UI', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('sends sort, order and q to the API, keeps them in the URL, and says what the search matches', async () => {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      const requests: URL[] = [];
      page.on('request', (r) => {
        const url = new URL(r.url());
        if (url.pathname === '/api/traces') requests.push(url);
      });
      await page.goto(`${canopy.url}/?sort=cost&service=cost-svc`);
      await page.locator('tr.trace-row').first().waitFor();
      expect(await page.locator('select[aria-label="Sort by"]').inputValue()).toBe('cost');
      expect(requests.at(-1)!.searchParams.get('sort')).toBe('cost');
      const costs = await page.locator('tr.trace-row td[data-col=cost]').allTextContents();
      expect(costs.length).toBeGreaterThan(2);
      const placeholder = await page.locator('input[aria-label="Search traces"]').getAttribute('placeholder');
      expect(placeholder).toBe('Name, agent, tool, model, service, error type, id');
      expect(await page.locator('input[aria-label="Search traces"]').getAttribute('title')).toMatch(/name, agent, tool, model, service or error type/);

      await page.locator('select[aria-label="Sort by"]').selectOption('spans');
      await page.locator('button[data-order]').click();
      await page.locator('input[aria-label="Search traces"]').fill('Spender');
      await eventually(async () => {
        const last = requests.at(-1)!;
        return last.searchParams.get('sort') === 'spans' && last.searchParams.get('order') === 'asc' && last.searchParams.get('q') === 'Spender' ? true : undefined;
      }, 10_000, 'a request with sort=spans, order=asc, q=Spender');
      await eventually(async () => {
        const url = new URL(page.url());
        return url.searchParams.get('sort') === 'spans' && url.searchParams.get('order') === 'asc' && url.searchParams.get('q') === 'Spender' ? true : undefined;
      }, 10_000, 'the URL to carry the list state');
      expect(await page.locator('th[aria-sort=ascending]').first().textContent()).toBe('Spans');
      await page.close();
    });
  });
});
