// The ingest worker threads: what they hand the writer must be exactly what the same code produces inline,
// with the user's price file applied, and a bad start must stop Canopy with the reason.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createPreparePool, type PreparePool } from '../../ingest/prepare-pool';
import { prepareExport } from '../../ingest/prepare';
import { createPriceBook } from '../../lib/server/prices';
import { recorder, start, toJson, toProtobuf } from './otlp-fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-pool-'));
const pricesFile = path.join(dir, 'prices.json');
fs.writeFileSync(pricesFile, JSON.stringify({ models: [{ match: 'house-model', inputPerMTok: 1, outputPerMTok: 2 }] }));
const pools: PreparePool[] = [];
const MAX = 16 * 1024 * 1024;
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
    const pool = await createPreparePool({ threads: 2, pricesFile, retentionDays: 7, maxBodyBytes: MAX, log: () => {} });
    pools.push(pool);
    const ctx = { prices: createPriceBook({ userFile: pricesFile }), retentionDays: 7, maxBodyBytes: MAX };
    const spans = exportOf(50);
    const proto = toProtobuf(spans);
    const json = Buffer.from(toJson(spans));
    // Several at once, so both workers take some; gzip bodies are inflated on the worker.
    const results = await Promise.all([
      pool.prepare({ bytes: Buffer.from(proto), encoding: 'identity' }, 'protobuf'),
      pool.prepare({ bytes: zlib.gzipSync(json), encoding: 'gzip' }, 'json'),
      pool.prepare({ bytes: zlib.gzipSync(proto), encoding: 'gzip' }, 'protobuf'),
      pool.prepare({ bytes: zlib.deflateSync(json), encoding: 'deflate' }, 'json'),
    ]);
    const inline = prepareExport(proto, 'identity', 'protobuf', ctx);
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

  it('answers bad bodies with their status and reason (400 undecodable or not gzip, 413 inflating past the limit) and keeps working', async () => {
    const pool = await createPreparePool({ threads: 1, retentionDays: 30, maxBodyBytes: 64 * 1024, log: () => {} });
    pools.push(pool);
    const bad = await pool.prepare({ bytes: Buffer.from([0x0a, 0xff, 0xff, 0xff]), encoding: 'identity' }, 'protobuf');
    expect(bad).toMatchObject({ ok: false, status: 400, undecodable: true });
    if (!bad.ok) expect(bad.message).toMatch(/protobuf|truncated|invalid/i);
    const notGzip = await pool.prepare({ bytes: Buffer.from('plain text'), encoding: 'gzip' }, 'json');
    expect(notGzip).toMatchObject({ ok: false, status: 400, undecodable: false, message: 'The body is not valid gzip data' });
    const bomb = await pool.prepare({ bytes: zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024)), encoding: 'gzip' }, 'protobuf');
    expect(bomb).toMatchObject({ ok: false, status: 413 });
    const good = await pool.prepare({ bytes: zlib.gzipSync(toProtobuf(exportOf(1))), encoding: 'gzip' }, 'protobuf');
    expect(good.ok && good.prepared.rows).toBe(2);
  });

  it('reuses a stored payload\'s memory for later exports without mixing their bytes', async () => {
    const pool = await createPreparePool({ threads: 1, retentionDays: 30, maxBodyBytes: MAX, log: () => {} });
    pools.push(pool);
    const ctx = { prices: createPriceBook({}), retentionDays: 30, maxBodyBytes: MAX };
    const big = toProtobuf(exportOf(400));
    const small = toProtobuf(exportOf(300));
    const first = await pool.prepare({ bytes: Buffer.from(big), encoding: 'identity' }, 'protobuf');
    if (!first.ok) throw new Error(first.message);
    pool.recycle(first.prepared.payload!); // its rows are stored: the worker may write the next export there
    for (const body of [small, big, small]) {
      const again = await pool.prepare({ bytes: Buffer.from(body), encoding: 'identity' }, 'protobuf');
      const inline = prepareExport(body, 'identity', 'protobuf', ctx);
      if (!again.ok || !inline.ok) throw new Error('prepare failed');
      expect(Buffer.from(again.prepared.payload!).equals(Buffer.from(inline.prepared.payload!))).toBe(true);
      pool.recycle(again.prepared.payload!);
    }
  });

  it('refuses to start with an unreadable price file, naming the problem', async () => {
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{ not json');
    await expect(createPreparePool({ threads: 1, pricesFile: broken, retentionDays: 30, maxBodyBytes: MAX, log: () => {} })).rejects.toThrow(/broken\.json.*not valid JSON/);
  });
});
