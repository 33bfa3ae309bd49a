// The demo's traffic: a gentle stream of normal trees with now and then a runaway, in real time, so a
// newcomer sees live trees at once and an alert within the first minute. Runaways keep going for minutes
// (or until killed from the UI), which is what makes the kill switch worth pressing.

import { DEFAULT_BASELINE_TREES, DEFAULT_SERVICE, type SimOptions } from './options';
import { randomSeed } from './random';
import type { TreeLine } from './runner';
import { simulate } from './simulate';

/** Trees started per second: about twenty trees live at any moment. */
const DEMO_RATE = 0.5;
/** One runaway every this many trees (about every 80 s at DEMO_RATE), the first one soon after start. */
const RUNAWAY_EVERY = 40;
const FIRST_RUNAWAY = 12;
export const DEMO_RUNAWAYS = ['loop', 'cost_spike', 'pingpong', 'retry_storm', 'fanout', 'slow_burn', 'deep'] as const;

export function demoScenario(n: number): string {
  if (n < FIRST_RUNAWAY || (n - FIRST_RUNAWAY) % RUNAWAY_EVERY !== 0) return 'normal';
  return DEMO_RUNAWAYS[((n - FIRST_RUNAWAY) / RUNAWAY_EVERY) % DEMO_RUNAWAYS.length]!;
}

export interface DemoWorkload {
  /** Ends open spans, flushes, and resolves when the simulator has stopped. */
  stop(): Promise<void>;
  done: Promise<void>;
}

export interface DemoWorkloadOptions {
  url: string; // Canopy app URL (kill checks, links)
  otlpUrl: string;
  apiKey?: string;
  log?: (message: string) => void;
}

/** Starts the demo traffic against a running Canopy; call stop() before Canopy shuts down. */
export function startDemoWorkload(opts: DemoWorkloadOptions): DemoWorkload {
  const log = opts.log ?? ((message: string) => process.stderr.write(`canopy-demo: ${message}\n`));
  const controller = new AbortController();
  const options: SimOptions = {
    endpoint: opts.otlpUrl,
    api: opts.url,
    apiKey: opts.apiKey,
    scenarios: ['normal', ...DEMO_RUNAWAYS],
    length: { kind: 'forever' },
    rate: DEMO_RATE,
    seed: randomSeed(),
    service: DEFAULT_SERVICE,
    fast: false,
    baselineTrees: DEFAULT_BASELINE_TREES,
    killCheck: true,
    dryRun: false,
    help: false,
  };
  const report = (line: TreeLine): void => {
    if (line.scenario === 'normal' || line.baselineFor) return;
    const how = line.killed ? 'was killed' : line.interrupted ? 'was stopped' : 'finished';
    log(`runaway ${line.scenario} ${how}: ${opts.url}/traces/${line.traceId}`);
  };
  const started = new Set<string>();
  const done = simulate(options, {
    signal: controller.signal,
    out: report,
    log,
    pick: (n) => {
      const name = demoScenario(n);
      if (name !== 'normal' && !started.has(name)) {
        started.add(name);
        log(`starting a ${name} runaway; watch for it in ${opts.url}`);
      }
      return name;
    },
  }).then(() => undefined);
  return {
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}
