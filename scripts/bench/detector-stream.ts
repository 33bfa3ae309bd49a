// The detector's CPU per span in the ingest stream, where it runs by default: a Canopy takes the same bodies at
// a fixed rate (most of phase 1's full speed, so ingest's own CPU per span varies little between runs) with the
// detector on and with it off (on first in one pair, off first in the next); each step is timed from the first
// body sent until the detector has judged every tree (the off run as long as the latest on run). The difference
// of Canopy's CPU is what judging those spans cost: the ingest workers' judging of whole trees, its reads
// (activity, counts, spans, alerts, history), its judge thread and its writes, beside ingest's inserts and
// merges. Two steps per Canopy: its first seconds (fresh: no history, so trees are read back from storage until
// their kind has some) and the seconds after (warm: the detector as it runs in a Canopy in use). The
// detector-alone row (detector-replay.ts) measures judging stored trees read back, with ingest idle.

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
  /** Of those, judged by the ingest workers as their export arrived (not read back from storage). */
  streamedSpans: number;
  /** (on − off) ÷ spans, and off ÷ spans (ingest's own cost at this rate). */
  detectorUsPerSpan: number;
  ingestUsPerSpan: number;
}

export interface DetectorStreamPhase {
  runs: DetectorStreamRun[];
  /** Over every run: Σ(on − off) ÷ Σ spans, and Σ off ÷ Σ spans. */
  detectorUsPerSpan: number;
  ingestUsPerSpan: number;
}

export interface DetectorStream {
  spansPerSecond: number;
  /** The first seconds of a fresh Canopy: no history yet, so every kind of tree is read back until it has some. */
  fresh: DetectorStreamPhase;
  /** The same traffic once the detector has history (as a Canopy in use has): the bar. */
  warm: DetectorStreamPhase;
}

/**
 * Each run: a fresh Canopy takes `freshSeconds` of traffic (measured: the fresh phase), is left until the
 * detector has judged it, then takes `seconds` more of other bodies (measured: the warm phase). The detector-off
 * runs wait as long as the latest on run did at each step.
 */
export async function measureDetectorStream(
  bodies: Body[],
  spansPerSecond: number,
  freshSeconds: number,
  seconds: number,
  pairs: number,
  start: (env: Record<string, string>) => Promise<RunningCanopy>,
  stop: (c: RunningCanopy) => Promise<unknown>,
): Promise<DetectorStream> {
  const fresh: DetectorStreamRun[] = [];
  const warm: DetectorStreamRun[] = [];
  const perBody = bodies.reduce((n, b) => n + b.spans, 0) / bodies.length;
  const firstCount = Math.ceil(((freshSeconds + 2) * spansPerSecond) / perBody);
  const first = bodies.slice(0, firstCount);
  const rest = bodies.slice(firstCount);
  // On then off, then off then on, and so on: a machine that slows down (or speeds up) over the runs would
  // otherwise count against the same side of every pair.
  let last: { fresh: number; warm: number } | null = null;
  // Not measured: the first Canopy on a cold machine reads its code (the engine's library, the app) from disk as
  // it runs new paths, which the pair that comes first would count against its first side.
  const warmUp = await start({});
  await feed(warmUp, first, spansPerSecond, freshSeconds, null);
  await stop(warmUp);
  for (let pair = 0; pair < pairs; pair++) {
    const runOn = async () => {
      const on = await start({});
      const onFresh = await feed(on, first, spansPerSecond, freshSeconds, null);
      const onWarm = await feed(on, rest, spansPerSecond, seconds, null);
      await stop(on);
      last = { fresh: onFresh.seconds, warm: onWarm.seconds };
      return { onFresh, onWarm };
    };
    const runOff = async (times: { fresh: number; warm: number }) => {
      const off = await start({ CANOPY_DETECTOR: 'off' });
      const offFresh = await feed(off, first, spansPerSecond, freshSeconds, times.fresh);
      const offWarm = await feed(off, rest, spansPerSecond, seconds, times.warm);
      await stop(off);
      return { offFresh, offWarm };
    };
    let onRuns: Awaited<ReturnType<typeof runOn>>;
    let offRuns: Awaited<ReturnType<typeof runOff>>;
    if (pair % 2 === 0 || !last) {
      onRuns = await runOn();
      offRuns = await runOff(last!);
    } else {
      offRuns = await runOff(last); // as long as the latest on run
      onRuns = await runOn();
    }
    fresh.push(run(onRuns.onFresh, offRuns.offFresh));
    warm.push(run(onRuns.onWarm, offRuns.offWarm));
  }
  return { spansPerSecond, fresh: phase(fresh), warm: phase(warm) };
}

type Fed = Awaited<ReturnType<typeof feed>>;

function run(on: Fed, off: Fed): DetectorStreamRun {
  return {
    cpuOnS: on.cpuS,
    cpuOffS: off.cpuS,
    seconds: on.seconds,
    spans: on.spans,
    judgedSpans: on.judged,
    streamedSpans: on.streamed,
    detectorUsPerSpan: ((on.cpuS - off.cpuS) * 1e6) / on.spans,
    ingestUsPerSpan: (off.cpuS * 1e6) / off.spans,
  };
}

function phase(runs: DetectorStreamRun[]): DetectorStreamPhase {
  const sum = (f: (r: DetectorStreamRun) => number) => runs.reduce((n, r) => n + f(r), 0);
  return {
    runs,
    detectorUsPerSpan: (sum((r) => r.cpuOnS - r.cpuOffS) * 1e6) / sum((r) => r.spans),
    ingestUsPerSpan: (sum((r) => r.cpuOffS) * 1e6) / sum((r) => r.spans),
  };
}

/**
 * Sends the bodies at the rate; then waits for the detector to judge them all (or, off, for `forSeconds`).
 * Counts from the detector's metrics are this call's share (a Canopy takes two feeds).
 */
async function feed(c: RunningCanopy, bodies: Body[], spansPerSecond: number, seconds: number, forSeconds: number | null) {
  const pid = c.process.pid!;
  const scraper = new MetricsScraper(c.url);
  const before = forSeconds === null ? await scraper.scrape() : null;
  const judged0 = before?.get('canopy_detector_spans_judged_total') ?? 0;
  const streamed0 = before?.get('canopy_detector_spans_judged_in_stream_total') ?? 0;
  const client = new OtlpClient(c.otlpUrl, 64);
  const cpu0 = readCpuSeconds(pid);
  const t0 = performance.now();
  const sent = await openLoop(client, bodies, spansPerSecond, { durationMs: seconds * 1000, drainMs: 60_000 });
  client.close();
  const spans = sent.sent.reduce((n, i) => n + bodies[i]!.spans, 0);
  let judged = 0;
  let streamed = 0;
  if (forSeconds === null) {
    for (let stable = 0, last = -1; stable < 2 && performance.now() - t0 < 300_000; ) {
      await sleep(500);
      const m = await scraper.scrape();
      judged = (m?.get('canopy_detector_spans_judged_total') ?? 0) - judged0;
      streamed = (m?.get('canopy_detector_spans_judged_in_stream_total') ?? 0) - streamed0;
      stable = judged >= spans && judged === last && (m?.get('canopy_detector_pending_trees') ?? 0) === 0 ? stable + 1 : 0;
      last = judged;
    }
  } else {
    // Scraped as often as the detector's side is while it waits (each scrape costs Canopy a little CPU).
    await scraper.scrape();
    while (performance.now() - t0 < forSeconds * 1000) {
      await sleep(Math.min(500, forSeconds * 1000 - (performance.now() - t0)));
      await scraper.scrape();
    }
  }
  return { cpuS: readCpuSeconds(pid) - cpu0, seconds: (performance.now() - t0) / 1000, spans, judged, streamed };
}
