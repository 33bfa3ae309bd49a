import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchWriter, QueueFullError, WriterClosedError } from '../../ingest/batch-writer';
import { openStorage, type Storage } from '../../lib/server/storage/storage';
import { migrate } from '../../lib/server/storage/migrations';
import { loadConfig } from '../../lib/server/config';
import { createMetrics } from '../../lib/server/metrics';

// The group-commit writer against the real embedded engine.

let storage: Storage;
beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-writer-'));
  storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: dataDir }));
  await migrate(storage.client, path.resolve(import.meta.dirname, '../../migrations'));
});
afterAll(async () => {
  await storage?.close();
});

const table = 'writer_test';
const rows = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => JSON.stringify({ n: from + i }) + '\n').join(''));
const count = async () => Number((await (await storage.client.query({ query: `SELECT count() AS c FROM ${table}`, format: 'JSONEachRow' })).json<{ c: string }>())[0].c);

describe('batch writer', () => {
  beforeAll(async () => {
    await storage.client.command({ query: `CREATE TABLE ${table} (n UInt32) ENGINE = MergeTree ORDER BY n` });
  });

  it('group-commits concurrent writes into few inserts and resolves each only once stored', async () => {
    const metrics = createMetrics();
    const writer = new BatchWriter((p) => storage.insertRaw(table, p), { maxQueueRows: 100_000, maxQueueBytes: 1e9, maxBatchRows: 100_000 }, metrics);
    const before = await count();
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer.write(rows(i * 100, 100), 100).then(async () => {
      expect(await count()).toBeGreaterThanOrEqual(before + 100); // resolved ⇒ visible
    })));
    expect(await count()).toBe(before + 5000);
    const inserts = (await metrics.batchRows.get()).values.find((v) => v.metricName === 'canopy_insert_batch_rows_count')!.value;
    expect(inserts).toBeLessThan(50);
  });

  it('refuses writes past the queue bound instead of growing, and takes them again once drained', async () => {
    const writer = new BatchWriter((p) => storage.insertRaw(table, p), { maxQueueRows: 10, maxQueueBytes: 1e9, maxBatchRows: 100 });
    const a = writer.write(rows(0, 5), 5);
    const b = writer.write(rows(5, 5), 5);
    await expect(writer.write(rows(10, 5), 5)).rejects.toBeInstanceOf(QueueFullError);
    await Promise.all([a, b]);
    await expect(writer.write(rows(10, 5), 5)).resolves.toBeTypeOf('number');
  });

  it('resolves with a time no later than the ingest time the engine gave the rows', async () => {
    // The detector in this process (detector/stored-feed.ts) saves this time as its watermark: past a row's
    // own ingest time, a restart's catch-up read of the activity index would start after the row.
    await storage.client.command({ query: 'CREATE TABLE writer_times (n UInt32, at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree ORDER BY n' });
    const writer = new BatchWriter((p) => storage.insertRaw('writer_times', p), { maxQueueRows: 100_000, maxQueueBytes: 1e9, maxBatchRows: 100 });
    const from = await Promise.all(Array.from({ length: 5 }, (_, i) => writer.write(rows(i * 10, 10), 10)));
    const stored = await (await storage.client.query({ query: 'SELECT n, toUnixTimestamp64Milli(at) AS ms FROM writer_times ORDER BY n', format: 'JSONEachRow' })).json<{ n: number; ms: string }>();
    expect(stored).toHaveLength(50);
    for (const { n, ms } of stored) expect(from[Math.floor(n / 10)]).toBeLessThanOrEqual(Number(ms));
  });

  it('flushes everything taken on close and refuses new writes after it', async () => {
    const writer = new BatchWriter((p) => storage.insertRaw(table, p), { maxQueueRows: 100_000, maxQueueBytes: 1e9, maxBatchRows: 100 });
    const before = await count();
    const pending = Array.from({ length: 10 }, (_, i) => writer.write(rows(i * 50, 50), 50));
    await writer.close();
    expect(await count()).toBe(before + 500);
    await Promise.all(pending);
    await expect(writer.write(rows(0, 1), 1)).rejects.toBeInstanceOf(WriterClosedError);
  });

  it('rejects the requests of a failed insert so they are never acknowledged', async () => {
    const writer = new BatchWriter((p) => storage.insertRaw('no_such_table', p), { maxQueueRows: 100, maxQueueBytes: 1e9, maxBatchRows: 100 });
    await expect(writer.write(rows(0, 1), 1)).rejects.toThrow();
    expect(writer.depth).toEqual({ rows: 0, bytes: 0 });
  });
});
