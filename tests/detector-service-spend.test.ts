// The service-level spend chart (the EWMA half of cost_spike) on the real engine: finished trees' spend per
// 5-minute bucket per service, judged when a bucket closes; an anomaly is one alert on the tree that spent most
// in that bucket, and a steady service raises none.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/server/config';
import { migrate } from '../lib/server/storage/migrations';
import { openStorage, type Storage } from '../lib/server/storage/storage';
import { recordFinishedTrees, type FinishedTree } from '../lib/server/queries/detector-state';
import { storedAlertsOf } from '../lib/server/queries/alerts';
import { Detector } from '../detector/service';
import { judgeServiceSpend } from '../detector/service-spend';
import { DEFAULT_SETTINGS } from '../detector/settings';

const MIGRATIONS = path.resolve(import.meta.dirname, '..', 'migrations');
const BUCKET = 5 * 60_000;
// A bucket boundary an hour and a half from now, so every bucket of the test is in the past of the engine's TTL.
const END = Math.floor((Date.now() - 90 * 60_000) / BUCKET) * BUCKET;

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');

function tree(service: string, n: number, costUsd: number, finishedMs: number): FinishedTree {
  return {
    traceId: hex(n, 32),
    finishedMs,
    runaway: false,
    stats: { rootName: 'invoke_agent Worker', serviceName: service, costUsd, tokens: 1000, durationMs: 30_000, spans: 10, maxChildren: 2, maxDepth: 2, maxCallInputTokens: 500 },
  };
}

describe('service spend chart', () => {
  let storage: Storage;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-service-spend-'));

  beforeAll(async () => {
    storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: dir }));
    await migrate(storage.client, MIGRATIONS);
    const trees: FinishedTree[] = [];
    let n = 1;
    // 14 buckets of steady spend for both services (three ~$0.40 trees each), then a bucket where `spiky`
    // spends 30× that in one tree.
    for (let b = 14; b >= 1; b--) {
      const at = END - b * BUCKET - BUCKET + 60_000;
      for (let i = 0; i < 3; i++) {
        trees.push(tree('steady', n++, 0.4 + 0.05 * ((b + i) % 3), at + i * 1000));
        trees.push(tree('spiky', n++, 0.4 + 0.05 * ((b + i) % 3), at + i * 1000));
      }
    }
    const last = END - BUCKET + 60_000;
    for (let i = 0; i < 3; i++) trees.push(tree('steady', n++, 0.42, last + i * 1000));
    trees.push(tree('spiky', 999, 36, last), tree('spiky', n++, 0.4, last + 1000));
    await recordFinishedTrees(storage, trees, 30);
  }, 60_000);

  afterAll(async () => {
    await storage?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('flags the service whose spend jumped, pointing at the tree that spent most, and not the steady one', async () => {
    const found = await judgeServiceSpend(storage.client, END, DEFAULT_SETTINGS);
    expect(found.map((f) => f.finding.evidence.names[0])).toEqual(['spiky']);
    const [spike] = found;
    expect(spike.traceId).toBe(hex(999, 32));
    expect(spike.finding.severity).toBe('critical');
    expect(spike.finding.evidence.details).toMatchObject({ scope: 'service', service: 'spiky' });
    expect(spike.finding.evidence.value).toBeGreaterThan(spike.finding.evidence.criticalAt);
    expect(spike.finding.title).toContain('spiky spent $36');
  });

  it('needs a history: with fewer buckets than ewmaMinBuckets it judges nothing', async () => {
    const short = { ...DEFAULT_SETTINGS, cost_spike: { ...DEFAULT_SETTINGS.cost_spike, ewmaMinBuckets: 40 } };
    expect(await judgeServiceSpend(storage.client, END, short)).toEqual([]);
  });

  it('is judged by the live detector once the bucket closes, as one alert kept apart from the tree rules', async () => {
    let now = END - 1000;
    const detector = new Detector({ storage, retentionDays: 30, tickMs: 60_000, log: () => undefined, now: () => now });
    await detector.open();
    await detector.tick(); // first sight: the bucket in progress is the first one judged
    expect(await storedAlertsOf(storage.client, [hex(999, 32)])).toEqual([]);
    now = END + 1000;
    await detector.tick();
    await detector.tick();
    const alerts = await storedAlertsOf(storage.client, [hex(999, 32)]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 'cost_spike', branch: 'service', severity: 'critical', status: 'open' });
    await detector.stop();
  });
});
