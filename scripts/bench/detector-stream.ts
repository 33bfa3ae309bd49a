// The detector's CPU per span in the ingest stream, where it runs by default: two Canopies at once, one with the
// detector and one without, take the same bodies at a fixed rate each (together most of phase 1's full speed, so
// ingest's own CPU per span varies little between runs); each step is timed from the first body sent until the
// detector has judged every tree, the side without it over the same seconds. The difference of the two processes'
// CPU is what judging those spans cost: the ingest workers' judging of whole trees, its reads (activity, counts,
// spans, alerts, history), its judge thread and its writes, beside ingest's inserts and merges. Two steps per
// round: the first seconds (fresh: no history, so trees are read back from storage until their kind has some) and
// the seconds after (warm: the detector as it runs in a Canopy in use). The detector-alone row
// (detector-replay.ts) measures judging stored trees read back, with ingest idle.
import type { RunningCanopy } from '../../tests/helpers/canopy';
import type { Body } from './workload';
import { OtlpClient, openLoop } from './client';
import { cpuParts, MetricsScraper, readCpuSeconds, readThreadCpu, type CpuParts } from './monitor';
import { startSides } from './detector-side-by-side';

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
  /** Each side's CPU by part (threads that ended within the step are missing: the parts may sum to less). */
  partsOn: CpuParts;
  partsOff: CpuParts;
}

export interface DetectorStreamPhase {
  runs: DetectorStreamRun[];
  /** Over every run: Σ(on − off) ÷ Σ spans, and Σ off ÷ Σ spans. */
  detectorUsPerSpan: number;
  ingestUsPerSpan: number;
  /** Where the difference went: Σ(on − off) of each part ÷ Σ spans. */
  detectorUsPerSpanBy: CpuParts;
}

export interface DetectorStream {
  spansPerSecond: number;
  /** The first seconds of a fresh Canopy: no history yet, so every kind of tree is read back until it has some. */
  fresh: DetectorStreamPhase;
  /** The same traffic once the detector has history (as a Canopy in use has): the bar. */
  warm: DetectorStreamPhase;
}

/**
 * Each round: two fresh Canopies at once, one with the detector and one without, each fed the same bodies at half
 * the rate (together the machine carries `spansPerSecond`, as one Canopy at that rate would). Each takes
 * `freshSeconds` of traffic (measured: the fresh phase), is left until the detector has judged it, then takes
 * `seconds` more of other bodies (measured: the warm phase). The side without the detector is measured over the
 * same moments as the side with it: run one after the other, minutes apart, the two sides met machines whose
 * speed differed by more than the detector's whole cost (the off runs alone spread 30% in one full run).
 */
export async function measureDetectorStream(
  bodies: Body[],
  spansPerSecond: number,
  freshSeconds: number,
  seconds: number,
  rounds: number,
  start: (env: Record<string, string>) => Promise<RunningCanopy>,
  stop: (c: RunningCanopy) => Promise<unknown>,
): Promise<DetectorStream> {
  const fresh: DetectorStreamRun[] = [];
  const warm: DetectorStreamRun[] = [];
  const rate = spansPerSecond / 2;
  const perBody = bodies.reduce((n, b) => n + b.spans, 0) / bodies.length;
  const firstCount = Math.ceil(((freshSeconds + 2) * rate) / perBody);
  const first = bodies.slice(0, firstCount);
  const rest = bodies.slice(firstCount);
  // Not measured: the first Canopy on a cold machine reads its code (the engine's library, the app) from disk as
  // it runs new paths, which the round that comes first would count against whichever side ran them first.
  const warmUp = await start({});
  await feed(warmUp, first, rate, freshSeconds, null);
  await stop(warmUp);
  for (let round = 0; round < rounds; round++) {
    const { on, off, started } = await startSides(round, start);
    const step = async (bodiesOfStep: Body[], stepSeconds: number) => {
      const judged = feed(on, bodiesOfStep, rate, stepSeconds, null);
      const [onFed, offFed] = await Promise.all([judged, feed(off, bodiesOfStep, rate, stepSeconds, judged)]);
      return run(onFed, offFed);
    };
    fresh.push(await step(first, freshSeconds));
    warm.push(await step(rest, seconds));
    await Promise.all(started.map((c) => stop(c)));
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
    partsOn: on.parts,
    partsOff: off.parts,
  };
}

function phase(runs: DetectorStreamRun[]): DetectorStreamPhase {
  const sum = (f: (r: DetectorStreamRun) => number) => runs.reduce((n, r) => n + f(r), 0);
  const part = (k: keyof CpuParts) => (sum((r) => r.partsOn[k] - r.partsOff[k]) * 1e6) / sum((r) => r.spans);
  return {
    runs,
    detectorUsPerSpan: (sum((r) => r.cpuOnS - r.cpuOffS) * 1e6) / sum((r) => r.spans),
    ingestUsPerSpan: (sum((r) => r.cpuOffS) * 1e6) / sum((r) => r.spans),
    detectorUsPerSpanBy: { eventLoop: part('eventLoop'), workers: part('workers'), engine: part('engine') },
  };
}

/**
 * Sends the bodies at the rate; then waits for the detector to judge them all (`until` null), or, without the
 * detector, until the side with it has (`until`), scraping as often meanwhile. Counts from the detector's metrics
 * are this call's share (a Canopy takes two feeds).
 */
async function feed(c: RunningCanopy, bodies: Body[], spansPerSecond: number, seconds: number, until: Promise<unknown> | null) {
  const pid = c.process.pid!;
  const scraper = new MetricsScraper(c.url);
  const before = until === null ? await scraper.scrape() : null;
  const judged0 = before?.get('canopy_detector_spans_judged_total') ?? 0;
  const streamed0 = before?.get('canopy_detector_spans_judged_in_stream_total') ?? 0;
  const client = new OtlpClient(c.otlpUrl, 64);
  const threads0 = readThreadCpu(pid);
  const cpu0 = readCpuSeconds(pid);
  const t0 = performance.now();
  const sent = await openLoop(client, bodies, spansPerSecond, { durationMs: seconds * 1000, drainMs: 60_000 });
  client.close();
  const spans = sent.sent.reduce((n, i) => n + bodies[i]!.spans, 0);
  let judged = 0;
  let streamed = 0;
  if (until === null) {
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
    let done = false;
    until.then(
      () => (done = true),
      () => (done = true),
    );
    await scraper.scrape();
    while (!done) {
      await Promise.race([sleep(500), until]);
      if (!done) await scraper.scrape();
    }
  }
  const cpuS = readCpuSeconds(pid) - cpu0;
  return { cpuS, parts: cpuParts(threads0, readThreadCpu(pid)), seconds: (performance.now() - t0) / 1000, spans, judged, streamed };
}
