// Phase 4's backtest measurement: detector/backtest.ts called in-process on the phase-4 store (Canopy stopped),
// over the most recent ~1 M of its spans (the data set spreads its traces evenly over the last 7 days), with
// a proposed loop threshold different from the one in force, so that rule is judged twice per tree. Runs as a
// child process with `--conditions=react-server` (lib/server/queries is server-only), like read-diag.ts:
//   node --conditions=react-server --import tsx scripts/bench/backtest.ts <dataDir> <sinceMs>
// prints one JSON line.

import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DATASET_DAYS = 7;

export interface BacktestBench {
  spans: number;
  trees: number;
  seconds: number;
  truncated: boolean;
  /** Trees flagged by each rule, under the proposed settings. */
  flagged: Record<string, number>;
  /** The event loop's delay while it ran (what an ingest ack or an API answer waited at worst). */
  lagP99Ms: number;
  lagMaxMs: number;
}

/**
 * Times a backtest over about `targetSpans` of the `storedSpans` in the store at `dataDir` (its newest ones).
 * Returns null (and logs why) if the run failed: a measurement, never a reason to stop the bench.
 */
export function timeBacktest(dataDir: string, storedSpans: number, targetSpans: number, log: (msg: string) => void): BacktestBench | null {
  const share = Math.min(1, targetSpans / storedSpans);
  const sinceMs = Date.now() - Math.round(share * DATASET_DAYS * 86400_000);
  const r = spawnSync(process.execPath, ['--conditions=react-server', '--import', 'tsx', import.meta.filename, dataDir, String(sinceMs)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    log(`backtest failed: ${(r.stderr || String(r.error)).slice(0, 500)}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as BacktestBench;
}

async function main(dataDir: string, sinceMs: number): Promise<void> {
  // Imported here: the parent (bench.ts) runs without the react-server condition.
  const { openStorage } = await import('../../lib/server/storage/storage');
  const { loadConfig } = await import('../../lib/server/config');
  const { backtestStored } = await import('../../detector/backtest');
  const { DEFAULT_SETTINGS, withSettings } = await import('../../detector/settings');
  const storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: path.resolve(dataDir) }));
  try {
    const proposed = withSettings(DEFAULT_SETTINGS, { loop: { consecutive: 2 } });
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const r = await backtestStored(storage, { proposed, current: DEFAULT_SETTINGS, sinceMs, untilMs: Date.now() });
    lag.disable();
    const flagged = Object.fromEntries(Object.entries(r.rules).map(([rule, o]) => [rule, o.proposed.trees]));
    const out: BacktestBench = {
      spans: r.spansJudged,
      trees: r.treesJudged,
      seconds: r.ms / 1000,
      truncated: r.truncated,
      flagged,
      lagP99Ms: lag.percentile(99) / 1e6,
      lagMaxMs: lag.max / 1e6,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await storage.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv[2]!, Number(process.argv[3])).catch((err) => {
    process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n');
    process.exit(1);
  });
}
