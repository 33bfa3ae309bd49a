// The detector's CPU per span in the ingest stream, where it runs by default: a fresh Canopy takes the same
// bodies at a fixed rate (most of phase 1's full speed, so ingest's own CPU per span varies little between runs)
// with the detector on and with it off, alternating; each run is timed from the first body sent until the
// detector has judged every tree (the off run for as long as the on run before it). The difference of Canopy's CPU
// is what judging those spans cost: its reads (activity, spans, alerts, history), its judge thread and its
// writes, beside ingest's inserts and merges. The detector-alone row (detector-replay.ts) measures the same work
// over stored trees with ingest idle.

import type { RunningCanopy } from '../../tests/helpers/canopy';
import type { Body } from './workload';
import { OtlpClient, openLoop } from './client';
import { MetricsScraper, readCpuSeconds } from './monitor';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DetectorStreamRun {
  cpuOnS: number;
  cpuOffS: number;
  seconds: number;
  spans: number;
  judgedSpans: number;
  /** (on − off) ÷ spans, and off ÷ spans (ingest's own cost at this rate). */
  detectorUsPerSpan: number;
  ingestUsPerSpan: number;
}

export interface DetectorStream {
  spansPerSecond: number;
  runs: DetectorStreamRun[];
  /** Over every run: Σ(on − off) ÷ Σ spans, and Σ off ÷ Σ spans. */
  detectorUsPerSpan: number;
  ingestUsPerSpan: number;
}

export async function measureDetectorStream(
  bodies: Body[],
  spansPerSecond: number,
  seconds: number,
  pairs: number,
  start: (env: Record<string, string>) => Promise<RunningCanopy>,
  stop: (c: RunningCanopy) => Promise<unknown>,
): Promise<DetectorStream> {
  const runs: DetectorStreamRun[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const on = await start({});
    const onRun = await feed(on, bodies, spansPerSecond, seconds, null);
    await stop(on);
    const off = await start({ CANOPY_DETECTOR: 'off' });
    const offRun = await feed(off, bodies, spansPerSecond, seconds, onRun.seconds);
    await stop(off);
    runs.push({
      cpuOnS: onRun.cpuS,
      cpuOffS: offRun.cpuS,
      seconds: onRun.seconds,
      spans: onRun.spans,
      judgedSpans: onRun.judged,
      detectorUsPerSpan: ((onRun.cpuS - offRun.cpuS) * 1e6) / onRun.spans,
      ingestUsPerSpan: (offRun.cpuS * 1e6) / offRun.spans,
    });
  }
  const sum = (f: (r: DetectorStreamRun) => number) => runs.reduce((n, r) => n + f(r), 0);
  return {
    spansPerSecond,
    runs,
    detectorUsPerSpan: (sum((r) => r.cpuOnS - r.cpuOffS) * 1e6) / sum((r) => r.spans),
    ingestUsPerSpan: (sum((r) => r.cpuOffS) * 1e6) / sum((r) => r.spans),
  };
}

/** Sends the bodies at the rate; then waits for the detector to judge them all (or, off, for `forSeconds`). */
async function feed(c: RunningCanopy, bodies: Body[], spansPerSecond: number, seconds: number, forSeconds: number | null) {
  const pid = c.process.pid!;
  const client = new OtlpClient(c.otlpUrl, 64);
  const cpu0 = readCpuSeconds(pid);
  const t0 = performance.now();
  const sent = await openLoop(client, bodies, spansPerSecond, { durationMs: seconds * 1000, drainMs: 60_000 });
  client.close();
  const spans = sent.sent.reduce((n, i) => n + bodies[i]!.spans, 0);
  let judged = 0;
  if (forSeconds === null) {
    const scraper = new MetricsScraper(c.url);
    for (let stable = 0, last = -1; stable < 2 && performance.now() - t0 < 300_000; ) {
      await sleep(500);
      const m = await scraper.scrape();
      judged = m?.get('canopy_detector_spans_judged_total') ?? 0;
      stable = judged >= spans && judged === last && (m?.get('canopy_detector_pending_trees') ?? 0) === 0 ? stable + 1 : 0;
      last = judged;
    }
  } else {
    const left = forSeconds * 1000 - (performance.now() - t0);
    if (left > 0) await sleep(left);
  }
  return { cpuS: readCpuSeconds(pid) - cpu0, seconds: (performance.now() - t0) / 1000, spans, judged };
}
