// The detector's own cost per span, measured alone. Beside ingest at full speed (phase 1 on vs off) its cost is
// the difference of two noisy numbers: phase 1's server CPU per span differs by up to ~15% between two runs with
// the detector off. Here the trees phase 1 stored without a detector are judged by one started over them: two
// copies of that data directory, one Canopy with the detector on and one with it off, each for the same time
// (from listening until the first has judged every tree). The difference of their CPU is what judging those
// spans cost: the detector's reads through lib/, its judge thread and its writes; startup, merges and idle
// work are the same in both.

import fs from 'node:fs';
import type { RunningCanopy } from '../../tests/helpers/canopy';
import { MetricsScraper, readCpuSeconds } from './monitor';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface DetectorReplay {
  /** Spans and trees the detector judged. */
  judgedSpans: number;
  judgedTrees: number;
  /** Listening → every tree judged (its pending count 0 and its judged count still for 3 s). */
  seconds: number;
  /** CPU seconds of the Canopy process over those seconds, with the detector on and off. */
  cpuOnS: number;
  cpuOffS: number;
  /** (on − off) per span judged. */
  usPerSpan: number;
}

export async function measureDetectorReplay(
  dir: string,
  start: (dir: string, env: Record<string, string>) => Promise<RunningCanopy>,
  stop: (c: RunningCanopy) => Promise<unknown>,
): Promise<DetectorReplay> {
  const copy = (suffix: string) => {
    const to = `${dir}-${suffix}`;
    fs.cpSync(dir, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
    return to;
  };
  const onDir = copy('judge-on');
  const offDir = copy('judge-off');
  try {
    const on = await start(onDir, {});
    const pid = on.process.pid!;
    const cpu0 = readCpuSeconds(pid);
    const t0 = performance.now();
    const scraper = new MetricsScraper(on.url);
    let judged = 0;
    let trees = 0;
    for (let stable = 0, last = -1; stable < 3 && performance.now() - t0 < 600_000; ) {
      await sleep(1000);
      const m = await scraper.scrape();
      judged = m?.get('canopy_detector_spans_judged_total') ?? 0;
      trees = m?.get('canopy_detector_trees_judged_total') ?? 0;
      stable = judged > 0 && judged === last && (m?.get('canopy_detector_pending_trees') ?? 0) === 0 ? stable + 1 : 0;
      last = judged;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuOnS = readCpuSeconds(pid) - cpu0;
    await stop(on);

    const off = await start(offDir, { CANOPY_DETECTOR: 'off' });
    const offPid = off.process.pid!;
    const offCpu0 = readCpuSeconds(offPid);
    await sleep(seconds * 1000);
    const cpuOffS = readCpuSeconds(offPid) - offCpu0;
    await stop(off);
    return { judgedSpans: judged, judgedTrees: trees, seconds, cpuOnS, cpuOffS, usPerSpan: ((cpuOnS - cpuOffS) * 1e6) / Math.max(1, judged) };
  } finally {
    for (const d of [onDir, offDir]) fs.rmSync(d, { recursive: true, force: true });
  }
}
