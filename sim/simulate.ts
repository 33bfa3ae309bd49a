// Wires parsed options to the SDK setup, the clock, the kill watcher and the scheduler.

import { FastClock, RealClock } from './clock';
import { PlannedIdGenerator } from './ids';
import { CanopyStartProcessor, KillWatcher } from '../sdk/src/index';
import { KILL_CHECK_MS, SdkKillChecker } from './kills';
import type { SimOptions } from './options';
import { Rng, randomSeed } from './random';
import { runWorkload, type TreeLine, type WorkloadSummary } from './runner';
import { Tracing } from './tracer';

export interface SimulateIo {
  signal: AbortSignal;
  out: (line: TreeLine) => void;
  log: (message: string) => void;
  /** Decides the scenario of the nth tree (the demo's weighted mix); default: rotate through the list. */
  pick?: (n: number) => string;
}

/** Runs the simulator with parsed options: the CLI, the demo and tests all come through here. */
export async function simulate(options: SimOptions, io: SimulateIo): Promise<WorkloadSummary & { seed: number; tracing: Tracing | null }> {
  const { signal, log } = io;
  const seed = options.seed ?? randomSeed();
  if (options.seed === null) log(`seed ${seed} (pass --seed ${seed} to send the same trees again)`);
  const ids = new PlannedIdGenerator(new Rng(`canopy-sim/ids/${seed}`));
  const watcher = options.killCheck && !options.dryRun ? new KillWatcher({ url: options.api, apiKey: options.apiKey, onError: (e) => log(`kill watcher: ${e.message}`) }) : null;
  // Agents obey kills through the SDK: its processor records each span's parent (and reports nothing: the
  // simulator's own exporter sends the spans), its watcher holds the one event stream.
  const processors = watcher ? () => [new CanopyStartProcessor(null)] : undefined;
  const tracing = options.dryRun ? null : new Tracing({ endpoint: options.endpoint, service: options.service, apiKey: options.apiKey, ids, processors });
  const kills = watcher ? new SdkKillChecker(watcher.start()) : null;
  const summary = await runWorkload(
    {
      scenarios: options.scenarios,
      length: options.length,
      rate: options.rate,
      seed,
      spans: options.spans,
      durationMs: options.durationMs,
      baselineTrees: options.baselineTrees,
      persistent: options.length.kind === 'forever' && !options.fast,
      pick: io.pick,
    },
    {
      tracing,
      ids,
      // Real time: a long step is cut into slices with a kill check between them, so a kill stops it within a second.
      clock: options.fast ? new FastClock() : new RealClock(KILL_CHECK_MS),
      kills,
      signal,
      out: io.out,
      log,
    },
  );
  await tracing?.shutdown();
  watcher?.close();
  return { ...summary, seed, tracing };
}
