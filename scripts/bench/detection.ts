// Detection latency: the simulator's runaway scenarios sent to a running Canopy while the load generator keeps
// ingest busy, and for each runaway tree the time from the simulator printing it (its spans exported and
// acknowledged: the CLI prints a tree once its exporter flushed) to its alert of the right rule being readable
// in /api/alerts. Also what the detector costs: its tick durations and the spans it read, from /metrics.

import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { percentile } from './client';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const RUNAWAY_RULES: Record<string, string> = { loop: 'loop', pingpong: 'pingpong', fanout: 'fanout', cost_spike: 'cost_spike', retry_storm: 'retry_storm' };

export interface DetectionLatency {
  /** Per rule: latency in ms of each runaway tree caught, and how many were missed within the deadline. */
  byRule: Record<string, { ms: number[]; missed: number }>;
  trees: number;
}

interface Printed {
  scenario: string;
  traceId: string;
  baselineFor?: string;
  printedAt: number;
}

/** Runs the simulator once (`--once --fast`), resolving each printed tree with the moment it was printed. */
function simulate(otlpUrl: string, seed: number, scenarios: string[]): Promise<Printed[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sim/cli.ts', '--endpoint', otlpUrl, '--no-kill-check', '--scenario', scenarios.join(','), '--once', '--fast', '--seed', String(seed)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Printed[] = [];
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        out.push({ ...(JSON.parse(line) as Omit<Printed, 'printedAt'>), printedAt: Date.now() });
      } catch {
        // not a tree line
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`simulator exited ${code}: ${err}`))));
  });
}

async function alerted(base: string, traceId: string, rule: string): Promise<boolean> {
  const res = await fetch(`${base}/api/alerts?traceId=${traceId}&rule=${rule}`);
  if (res.status !== 200) return false;
  const { alerts } = (await res.json()) as { alerts: unknown[] };
  return alerts.length > 0;
}

/**
 * For each seed: sends every runaway scenario (the cost spike after its baseline trees) and polls each tree's
 * alerts every 100 ms for up to `deadlineMs`. Latency = when a read first returned the alert − when the tree was
 * printed (so it includes up to 100 ms of polling).
 */
export async function measureDetection(base: string, otlpUrl: string, seeds: number[], deadlineMs = 20_000): Promise<DetectionLatency> {
  const byRule: DetectionLatency['byRule'] = {};
  for (const rule of Object.values(RUNAWAY_RULES)) byRule[rule] = { ms: [], missed: 0 };
  let trees = 0;
  for (const seed of seeds) {
    const printed = await simulate(otlpUrl, seed, Object.keys(RUNAWAY_RULES));
    const runaways = printed.filter((p) => RUNAWAY_RULES[p.scenario] && !p.baselineFor);
    trees += runaways.length;
    await Promise.all(
      runaways.map(async (p) => {
        const rule = RUNAWAY_RULES[p.scenario];
        const until = p.printedAt + deadlineMs;
        while (Date.now() < until) {
          if (await alerted(base, p.traceId, rule)) {
            byRule[rule].ms.push(Date.now() - p.printedAt);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        byRule[rule].missed++;
      }),
    );
  }
  return { byRule, trees };
}

export function latencyRow(ms: number[]): { p50: number; p95: number; max: number } {
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), max: ms.length ? Math.max(...ms) : NaN };
}
