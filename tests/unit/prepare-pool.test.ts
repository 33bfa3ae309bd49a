// The ingest worker threads: what they hand the writer must be exactly what the same code produces inline,
// with the user's price file applied, and a bad start must stop Canopy with the reason.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPreparePool, type PreparePool } from '../../ingest/prepare-pool';
import { prepareExport } from '../../ingest/prepare';
import { createPriceBook } from '../../lib/prices';
import { recorder, start, toJson, toProtobuf } from './otlp-fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-pool-'));
const pricesFile = path.join(dir, 'prices.json');
fs.writeFileSync(pricesFile, JSON.stringify({ models: [{ match: 'house-model', inputPerMTok: 1, outputPerMTok: 2 }] }));
const pools: PreparePool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function exportOf(n: number) {
  const r = recorder({ 'service.name': 'pool-svc' });
  const root = start(r.tracer, { name: 'invoke_agent planner', attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' } });
  for (let i = 0; i < n; i++) {
    start(r.tracer, {
      name: 'chat house-model',
      parent: root,
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'house-model', 'gen_ai.usage.input_tokens': 1000 + i, 'gen_ai.usage.output_tokens': 10 },
    }).end();
  }
  root.end();
  return r.spans();
}

describe('ingest worker pool', () => {
  it('prepares protobuf and JSON exports on worker threads exactly as inline, priced by the user file', async () => {
    const pool = await createPreparePool({ threads: 2, pricesFile, retentionDays: 7, log: () => {} });
    pools.push(pool);
    const ctx = { prices: createPriceBook({ userFile: pricesFile }), retentionDays: 7 };
    const spans = exportOf(50);
    const proto = toProtobuf(spans);
    const json = Buffer.from(toJson(spans));
    // Several at once, so both workers take some.
    const results = await Promise.all([proto, json, proto, json].map((b, i) => pool.prepare(Buffer.from(b), i % 2 ? 'json' : 'protobuf')));
    const inline = prepareExport(proto, 'protobuf', ctx);
    for (const r of results) {
      expect(r.ok).toBe(true);
      if (!r.ok || !inline.ok) continue;
      expect(r.prepared.rows).toBe(51);
      expect(r.prepared.resources.map((x) => x.service_name)).toEqual(['pool-svc']);
      expect(Buffer.from(r.prepared.payload!).toString()).toBe(Buffer.from(inline.prepared.payload!).toString());
    }
    if (!inline.ok) throw new Error('inline prepare failed');
    const firstChat = Buffer.from(inline.prepared.payload!).toString().split('\n').map((l) => JSON.parse(l || 'null')).find((row) => row?.[4] === 'chat house-model');
    // 1,000 input tokens at $1/M + 10 output at $2/M, from the price file the workers loaded.
    expect(firstChat[17]).toBeCloseTo(0.00102, 8);
  });

  it('answers an undecodable body with the reason instead of failing the pool', async () => {
    const pool = await createPreparePool({ threads: 1, retentionDays: 30, log: () => {} });
    pools.push(pool);
    const bad = await pool.prepare(Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'protobuf');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.message).toMatch(/protobuf|truncated|invalid/i);
    const good = await pool.prepare(Buffer.from(toProtobuf(exportOf(1))), 'protobuf');
    expect(good.ok && good.prepared.rows).toBe(2);
  });

  it('refuses to start with an unreadable price file, naming the problem', async () => {
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{ not json');
    await expect(createPreparePool({ threads: 1, pricesFile: broken, retentionDays: 30, log: () => {} })).rejects.toThrow(/broken\.json.*not valid JSON/);
  });
});
