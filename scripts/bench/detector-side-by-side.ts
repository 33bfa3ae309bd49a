// Phase 1's detector cost measured side by side: two fresh Canopy processes at once, one with the detector and
// one without, each fed by half of phase 1's clients in a closed loop, so that together they saturate the
// machine as phase 1 does. Run one after the other (phase 1's on/off pairs), the two sides met different machines:
// here the speed of the machine moved by ±15% within minutes, more than the detector's whole cost. At the same
// moments both meet the same machine, so its drift cancels out of their ratio. Each process's CPU per span is its
// own (/proc), so the detector's work, wherever it runs, is charged to the process that has it; the lag is each
// process's own event-loop lag p99.

import type { RunningCanopy } from '../../tests/helpers/canopy';
import type { Body } from './workload';
import { OtlpClient, closedLoop } from './client';
import { MetricsScraper, readCpuSeconds } from './monitor';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SideRun {
  spans: number;
  spansPerS: number;
  cpuS: number;
  serverCpuUsPerSpan: number;
  lagP99Ms: number;
}

export interface SideBySideRound {
  on: SideRun;
  off: SideRun;
  /** on ÷ off server CPU per span, − 1. */
  overhead: number;
}

export interface SideBySide {
  rounds: SideBySideRound[];
  /** Σ on CPU ÷ Σ on spans against Σ off CPU ÷ Σ off spans, − 1. */
  overhead: number;
  /** The worst round's lag p99 with the detector, and without. */
  lagP99OnMs: number;
  lagP99OffMs: number;
}

export async function measureSideBySide(
  bodies: Body[],
  opts: { rounds: number; concurrency: number; warmup: number; maxMs: number },
  start: (env: Record<string, string>) => Promise<RunningCanopy>,
  stop: (c: RunningCanopy) => Promise<unknown>,
  log: (msg: string) => void,
): Promise<SideBySide> {
  const rounds: SideBySideRound[] = [];
  const half = Math.max(1, Math.floor(opts.concurrency / 2));
  for (let round = 0; round < opts.rounds; round++) {
    const { on, off, started } = await startSides(round, start);
    log(`detector side by side, round ${round + 1} of ${opts.rounds}: ${half} clients each, up to ${opts.maxMs / 1000} s`);
    const sides = [on, off].map((c) => ({ canopy: c, client: new OtlpClient(c.otlpUrl, half), scraper: new MetricsScraper(c.url), pid: c.process.pid! }));
    await Promise.all(sides.map((s) => closedLoop(s.client, bodies.slice(0, opts.warmup), half, { maxMs: 60_000 })));
    await sleep(500);
    const measured = bodies.slice(opts.warmup);
    for (const s of sides) {
      await s.scraper.scrape();
      s.scraper.reset();
      s.scraper.start(1000);
    }
    const cpu0 = sides.map((s) => readCpuSeconds(s.pid));
    const runs = await Promise.all(sides.map((s) => closedLoop(s.client, measured, half, { maxMs: opts.maxMs })));
    const cpu1 = sides.map((s) => readCpuSeconds(s.pid));
    const result = sides.map((s, i): SideRun => {
      s.scraper.stop();
      s.client.close();
      const r = runs[i];
      const seconds = (r.lastAckMs - r.firstSendMs) / 1000;
      const cpuS = cpu1[i] - cpu0[i];
      return { spans: r.spansAcked, spansPerS: r.spansAcked / seconds, cpuS, serverCpuUsPerSpan: (cpuS * 1e6) / r.spansAcked, lagP99Ms: s.scraper.lagP99MaxS * 1000 };
    });
    await Promise.all(started.map((c) => stop(c)));
    rounds.push({ on: result[0], off: result[1], overhead: result[0].serverCpuUsPerSpan / result[1].serverCpuUsPerSpan - 1 });
  }
  const sum = (side: 'on' | 'off', f: (r: SideRun) => number) => rounds.reduce((a, r) => a + f(r[side]), 0);
  return {
    rounds,
    overhead: sum('on', (r) => r.cpuS) / sum('on', (r) => r.spans) / (sum('off', (r) => r.cpuS) / sum('off', (r) => r.spans)) - 1,
    lagP99OnMs: Math.max(...rounds.map((r) => r.on.lagP99Ms)),
    lagP99OffMs: Math.max(...rounds.map((r) => r.off.lagP99Ms)),
  };
}

/** A Canopy with the detector and one without, started one after the other; which starts first alternates by round (the first process's start runs on a quieter machine). */
export async function startSides(round: number, start: (env: Record<string, string>) => Promise<RunningCanopy>): Promise<{ on: RunningCanopy; off: RunningCanopy; started: RunningCanopy[] }> {
  const envs = [{}, { CANOPY_DETECTOR: 'off' }] as Record<string, string>[];
  if (round % 2 === 1) envs.reverse();
  const started: RunningCanopy[] = [];
  for (const env of envs) started.push(await start(env));
  const [on, off] = round % 2 === 1 ? [started[1], started[0]] : started;
  await sleep(1000);
  return { on, off, started };
}
