import '../lib/server/server-only-process';
import '../lib/server/v8-tuning';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig, ConfigError } from '../lib/server/config';
import { createMetrics } from '../lib/server/metrics';
import { openStorage } from '../lib/server/storage/storage';
import { migrate } from '../lib/server/storage/migrations';

// `npm run detector`: the detector as its own process, beside Canopy processes started with
// CANOPY_DETECTOR=off, all on one ClickHouse server (CLICKHOUSE_URL). Several ingest processes, one detector:
// its watermark, alerts and settings are in storage, so it can be restarted or moved at will.

const ROOT = path.resolve(import.meta.dirname, '..');
const log = (event: Record<string, unknown>) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');

function fail(message: string): never {
  process.stderr.write(`canopy detector: ${message}\n`);
  process.exit(1);
}

async function main() {
  const config = loadConfig();
  if (!config.clickhouse) {
    fail('the detector runs as its own process only with a ClickHouse server (CLICKHOUSE_URL): with the embedded engine it runs inside `npm start`, which holds the data directory.');
  }
  const storage = await openStorage(config);
  await migrate(storage.client, path.join(ROOT, 'migrations')).catch((err: Error) => fail(`could not set up storage at ${config.clickhouse!.url}: ${err.message}`));
  const { startDetector } = await import('./run');
  // Its own kill hub and budget book: kills and budgets it writes reach the ingest processes through storage.
  const { KillHub } = await import('../lib/server/kill-hub');
  const { BudgetBook } = await import('../lib/server/budget-book');
  const killer = new KillHub({ storage, retentionDays: config.retentionDays, log });
  const budgets = new BudgetBook({ storage, retentionDays: config.retentionDays, defaultUsd: config.treeBudgetUsd, log });
  await Promise.all([killer.start(), budgets.start()]);
  const running = await startDetector({ config, storage, metrics: createMetrics(), log, publicUrl: config.publicUrl ?? `http://${config.host}:${config.port}`, budgets, killer });
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version as string;
  log({ event: 'detector_started', storage: config.clickhouse.url, tickMs: config.detectorTickMs, webhook: Boolean(config.webhookUrl), version });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log({ event: 'shutting_down', signal });
    await running.stop();
    await Promise.all([killer.stop(), budgets.stop()]);
    await storage.close();
    log({ event: 'stopped' });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => fail(err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)));
