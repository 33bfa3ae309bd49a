// The spend page's reads (lib/server/queries/spend.ts) against the real embedded engine: each model call once
// (re-sent copies collapse), the top N per dimension with the rest as "other", unpriced calls apart, the range's
// top trees and totals, and each kill with the tree's spend when it was stopped.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/server/config';
import { openStorage, type Storage } from '../../lib/server/storage/storage';
import { migrate } from '../../lib/server/storage/migrations';
import { spendOverview } from '../../lib/server/queries/spend';
import type { SpendResponse } from '../../lib/domain/spend';

const MIN = 60_000;
// Mid-bucket, so that every call below falls in a known minute of the last hour.
const NOW = Math.floor(Date.now() / MIN) * MIN + 30_000;
const TRACE_A = 'a1'.repeat(16);
const TRACE_B = 'b2'.repeat(16);
const TRACE_C = 'c3'.repeat(16);
const sec = (ms: number) => (ms / 1000).toFixed(3);

let storage: Storage;
let dataDir: string;
let spendAt: SpendResponse;

interface Row {
  trace: string;
  span: string;
  parent?: string;
  name?: string;
  service?: string;
  model?: string;
  atMs: number;
  input?: number;
  output?: number;
  cost?: number | null;
  call?: boolean;
}

const json = (rows: Row[]) =>
  Buffer.from(
    rows
      .map((r) =>
        JSON.stringify({
          trace_id: r.trace,
          span_id: r.span,
          parent_span_id: r.parent ?? '',
          service_name: r.service ?? 'svc-a',
          name: r.name ?? `chat ${r.model ?? ''}`,
          start_time: sec(r.atMs),
          end_time: sec(r.atMs + 1000),
          category: r.call === false ? 'agent' : 'llm',
          model: r.model ?? '',
          input_tokens: r.input ?? 0,
          output_tokens: r.output ?? 0,
          cost_usd: r.cost === undefined ? null : r.cost,
          counts_usage: r.call === false ? 0 : 1,
          retention_days: 30,
          ingested_at: sec(r.atMs + 2000),
        }),
      )
      .join('\n') + '\n',
  );

const span = (n: number) => n.toString(16).padStart(16, '0');

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-spend-'));
  storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: dataDir }));
  await migrate(storage.client, path.resolve(import.meta.dirname, '../../migrations'));
  const t0 = NOW - 40 * MIN;
  const rows: Row[] = [
    { trace: TRACE_A, span: span(1), name: 'invoke_agent Alpha', atMs: t0, call: false },
    // Eight models, $0.80 … $0.10, one call each, a minute apart.
    ...Array.from({ length: 8 }, (_, i) => ({ trace: TRACE_A, span: span(10 + i), parent: span(1), model: `m${i + 1}`, atMs: t0 + (i + 1) * MIN, input: 100, output: 10, cost: (8 - i) / 10 })),
    // No known price: tokens, no cost. And a failed call: neither (not "unpriced").
    { trace: TRACE_A, span: span(30), parent: span(1), model: 'acme', atMs: t0 + 10 * MIN, input: 400, output: 100, cost: null },
    { trace: TRACE_A, span: span(31), parent: span(1), model: 'm1', atMs: t0 + 11 * MIN, cost: null },
    // A tree of two hours ago: before the range, not counted.
    { trace: TRACE_C, span: span(50), model: 'm1', atMs: NOW - 2 * 3600_000, input: 1, output: 1, cost: 5 },
    { trace: TRACE_B, span: span(2), name: 'invoke_agent Beta', service: 'svc-b', atMs: t0 + 5 * MIN, call: false },
    { trace: TRACE_B, span: span(40), parent: span(2), service: 'svc-b', model: 'm1', atMs: t0 + 5 * MIN, input: 1000, output: 0, cost: 0.05 },
  ];
  await storage.insertRaw('spans', json(rows));
  // An exporter re-sends two calls in a later insert: the same rows again.
  await storage.insertRaw('spans', json(rows.filter((r) => r.span === span(10) || r.span === span(40))));
  // Trace A's branch killed after its 4th model call (m4, at t0 + 4 min), revived later; trace B never killed.
  const killedAt = t0 + 4 * MIN + 30_000;
  await storage.insertRaw(
    'kills',
    Buffer.from(
      [
        { trace_id: TRACE_A, span_id: span(1), reason: 'looping', source: 'manual', alert_id: '', created_at: sec(killedAt), revoked_at: null, active: 1, version: 1, retention_days: 30 },
        { trace_id: TRACE_A, span_id: span(1), reason: 'looping', source: 'manual', alert_id: '', created_at: sec(killedAt), revoked_at: sec(killedAt + MIN), active: 0, version: 2, retention_days: 30 },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    ),
  );
  spendAt = await spendOverview(storage.client, { range: '1h', top: 6, nowMs: NOW });
}, 60_000);

afterAll(async () => {
  await storage?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('spendOverview', () => {
  it('counts each model call of the range once, unpriced ones apart', () => {
    expect(spendAt.totals).toEqual({
      costUsd: 3.65, // 0.8 + … + 0.1 = 3.6, plus B's 0.05; the re-sent copies and the call before the range are not counted
      inputTokens: 8 * 100 + 400 + 1000,
      outputTokens: 8 * 10 + 100,
      calls: 11,
      unpricedCalls: 1,
      unpricedTokens: 500,
      trees: 2,
    });
  });

  it('keeps the top N models by share of spend or tokens, and sums the rest as "other"', () => {
    const models = spendAt.series.model;
    // acme has no price but a fifth of the tokens: it is a series of its own; m6–m8 are the rest.
    expect(models.map((s) => (s.other ? `other:${s.keys}` : s.key))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'acme', 'other:3']);
    expect(models[0]).toMatchObject({ costUsd: 0.85, calls: 3 }); // A's 0.8, B's 0.05, and the failed call
    expect(models.find((s) => s.key === 'acme')).toMatchObject({ costUsd: 0, tokens: 500, unpricedCalls: 1 });
    const other = models.at(-1)!;
    expect(other.costUsd).toBeCloseTo(0.6, 9); // m6 0.3 + m7 0.2 + m8 0.1
    expect(other.calls).toBe(3);
    // Each series sums its buckets; the buckets hold each call at its minute.
    for (const s of models) expect(s.costByBucket.reduce((a, b) => a + b, 0)).toBeCloseTo(s.costUsd, 9);
    const t0Index = spendAt.buckets.indexOf(new Date(NOW - 40 * MIN - 30_000).toISOString());
    expect(t0Index).toBeGreaterThan(0);
    expect(models.find((s) => s.key === 'm2')!.costByBucket[t0Index + 2]).toBe(0.7);
  });

  it('shows one key past the top N as itself, and splits by service and root name', async () => {
    const seven = await spendOverview(storage.client, { range: '1h', top: 8, nowMs: NOW });
    expect(seven.series.model.map((s) => s.key)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'acme']);
    expect(seven.series.model.some((s) => s.other)).toBe(false);
    expect(spendAt.series.service.map((s) => [s.key, s.costUsd])).toEqual([['svc-a', 3.6], ['svc-b', 0.05]]);
    expect(spendAt.series.rootName.map((s) => [s.key, s.costUsd])).toEqual([['invoke_agent Alpha', 3.6], ['invoke_agent Beta', 0.05]]);
  });

  it('lists the top trees of the range with their names', () => {
    expect(spendAt.topTrees.map((t) => [t.traceId, t.rootName, t.costUsd, t.calls, t.unpricedCalls])).toEqual([
      [TRACE_A, 'invoke_agent Alpha', 3.6, 10, 1],
      [TRACE_B, 'invoke_agent Beta', 0.05, 1, 0],
    ]);
    expect(spendAt.topTrees[1].services).toEqual(['svc-b']);
  });

  it("gives each kill the tree's spend when stopped and its burn rate", () => {
    expect(spendAt.kills).toHaveLength(1);
    const [kill] = spendAt.kills;
    const t0 = NOW - 40 * MIN;
    expect(kill).toMatchObject({ traceId: TRACE_A, spanId: span(1), scope: 'branch', source: 'manual', reason: 'looping', rootName: 'invoke_agent Alpha' });
    expect(kill.costUsd).toBe(2.6); // m1–m4: 0.8 + 0.7 + 0.6 + 0.5
    expect(kill.tokens).toBe(4 * 110);
    expect(kill.lifeMs).toBe(4 * MIN + 30_000);
    expect(kill.usdPerMinute).toBeCloseTo(2.6 / 4.5, 9);
    expect(kill.killedAt).toBe(new Date(t0 + 4 * MIN + 30_000).toISOString());
    expect(kill.revokedAt).toBe(new Date(t0 + 5 * MIN + 30_000).toISOString());
  });

  it('answers an empty range with zeros and no series', async () => {
    const empty = await spendOverview(storage.client, { range: '1h', top: 6, nowMs: NOW + 10 * 24 * 3600_000 });
    expect(empty.totals.calls).toBe(0);
    expect(empty.series.model).toEqual([]);
    expect(empty.topTrees).toEqual([]);
    expect(empty.kills).toEqual([]);
    expect(empty.buckets).toHaveLength(60);
  });
});
