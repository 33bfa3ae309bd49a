// Wires parsed options to the SDK setup, the clock, the kill client and the scheduler.

import { FastClock, RealClock } from './clock';
import { PlannedIdGenerator } from './ids';
import { KILL_CHECK_MS, KillClient } from './kill-client';
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
  const tracing = options.dryRun ? null : new Tracing({ endpoint: options.endpoint, service: options.service, apiKey: options.apiKey, ids });
  const kills = options.killCheck && !options.dryRun ? new KillClient(options.api, { apiKey: options.apiKey }) : null;
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
  return { ...summary, seed, tracing };
}
