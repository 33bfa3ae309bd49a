// Flags of `npm run simulate`: parsed with node:util parseArgs, validated into one options object.
// Invalid input is a UsageError (exit code 2) whose message names the flag and what was wrong.

import { parseArgs } from 'node:util';
import { canopyUrlFromOtlp } from '../sdk/src/index';
import { HUGE_MAX_SPANS } from './scenarios/huge';
import { SCENARIOS, SCENARIO_NAMES } from './scenarios/index';

export class UsageError extends Error {}

export type RunLength =
  | { kind: 'once' }
  | { kind: 'trees'; count: number }
  | { kind: 'duration'; ms: number }
  | { kind: 'forever' };

export interface SimOptions {
  endpoint: string;
  api: string;
  apiKey?: string;
  scenarios: string[];
  length: RunLength;
  /** --duration given with --once: how long a slow_burn tree runs. */
  durationMs?: number;
  rate: number;
  seed: number | null;
  service: string;
  fast: boolean;
  spans?: number;
  baselineTrees: number;
  killCheck: boolean;
  dryRun: boolean;
  help: boolean;
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4318';
export const DEFAULT_SERVICE = 'sim-agents';
// The detector trusts a root name's spend history from 20 finished trees (detector/settings.ts baseline.minTrees):
// a cost_spike sent with the defaults must be judgeable.
export const DEFAULT_BASELINE_TREES = 25;

const FLAGS = {
  endpoint: { type: 'string' },
  api: { type: 'string' },
  'api-key': { type: 'string' },
  scenario: { type: 'string', multiple: true },
  trees: { type: 'string' },
  duration: { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  service: { type: 'string' },
  once: { type: 'boolean' },
  fast: { type: 'boolean' },
  spans: { type: 'string' },
  baseline: { type: 'string' },
  'no-kill-check': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function helpText(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  const scenarios = SCENARIOS.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`).join('\n');
  return `Canopy workload simulator: agent request trees, healthy and runaway, sent through the stock
OpenTelemetry Node SDK (OTLP/HTTP protobuf, gzip) to any OTLP endpoint.

Usage: npm run simulate -- [flags]
       node --import tsx sim/cli.ts [flags]

Where to send
  --endpoint URL      OTLP/HTTP base URL; /v1/traces is appended unless the URL already ends with it
                      (default ${DEFAULT_ENDPOINT}).
  --api URL           Canopy app URL, whose kill events the agents follow (through the SDK) and obey
                      between steps (default: the endpoint's origin, with port 4318 replaced by 3000).
  --api-key KEY       Sent as "Authorization: Bearer KEY" with spans and kill checks
                      (default: $CANOPY_API_KEY if set).
  --service NAME      service.name of the simulated app (default ${DEFAULT_SERVICE}); remote sub-agents
                      report as NAME-worker.

What to send
  --scenario NAME[,NAME...]  Scenarios to run, comma-separated or repeated; "all" for every one
                      (default normal). Trees rotate through the list in order.
  --once              Send one tree per listed scenario, then exit. Prints one JSON line per tree:
                      {"scenario","traceId","rootSpanId","rootName","spans","expect",...}. Baseline
                      trees a scenario needs (cost_spike) are printed first, with "baselineFor".
  --trees N           Send N trees, then exit.
  --duration D        Run for D (e.g. 90s, 5m, 1h, 500ms; a bare number is seconds), then exit.
                      With --once, sets how long a slow_burn tree runs (default 3m).
                      Without --once, --trees or --duration: run until Ctrl-C, and runaways
                      (loop, pingpong, retry_storm, ...) keep going for minutes or until killed.
  --rate N            Trees started per second, fractions allowed (default 1; with --fast 10).
  --seed N            Same seed, same trees: shapes, token counts and trace/span ids
                      (default: random, printed on stderr). Re-sending a seed to the same Canopy
                      re-sends the same ids.
  --spans N           Size of a huge tree (default 10000, at most ${HUGE_MAX_SPANS}).
  --baseline N        Normal trees sent before the first cost_spike (default ${DEFAULT_BASELINE_TREES}).

How
  --fast              Compress waits: each tree is played at once, spans keep realistic start/end
                      times (a tree is stamped as if it just finished). Default is real time.
  --no-kill-check     Never ask Canopy about kills.
  --dry-run           Plan the trees and print their JSON lines without sending anything.
  -h, --help          Show this help.

Scenarios
${scenarios}

Output: one JSON line per tree on stdout, once its spans were handed to the exporter and flushed;
progress and errors on stderr. Exit codes: 0 done, 1 spans could not be delivered, 2 bad flags,
130 interrupted.

Examples
  npm run simulate -- --scenario normal,loop,pingpong,fanout,cost_spike,retry_storm --once --fast
  npm run simulate -- --scenario normal --rate 2 --duration 5m
  npm run simulate -- --scenario slow_burn --duration 10m
  npm run simulate -- --scenario huge --spans 50000 --once --fast
`;
}

function positiveInt(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${flag} must be a whole number (got '${raw}')`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${flag} must be between ${min} and ${max} (got ${raw})`);
  return value;
}

/** "90s", "5m", "1h", "500ms", or a bare number of seconds. */
export function parseDuration(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(raw.trim());
  if (!match) throw new UsageError(`--duration must look like 90s, 5m, 1h or 500ms (got '${raw}')`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = value * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  if (!(ms > 0)) throw new UsageError(`--duration must be more than zero (got '${raw}')`);
  return Math.round(ms);
}

function url(flag: string, raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(`--${flag} must be a URL like http://127.0.0.1:4318 (got '${raw}')`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--${flag} must be an http:// or https:// URL (got '${raw}')`);
  }
  return raw;
}

export function parseOptions(argv: string[], env: Record<string, string | undefined> = process.env): SimOptions {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true }>>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (flags start with --)`);

  const help = values.help ?? false;
  const endpoint = url('endpoint', values.endpoint ?? DEFAULT_ENDPOINT);
  const api = values.api !== undefined ? url('api', values.api) : canopyUrlFromOtlp(endpoint);

  const requested = (values.scenario ?? ['normal']).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (requested.length === 0) throw new UsageError('--scenario needs at least one name');
  const scenarios = requested.flatMap((name) => (name === 'all' ? [...SCENARIO_NAMES] : [name]));
  for (const name of scenarios) {
    if (!SCENARIO_NAMES.includes(name)) {
      throw new UsageError(`unknown scenario '${name}'; known: ${SCENARIO_NAMES.join(', ')} (or all)`);
    }
  }

  const once = values.once ?? false;
  if (once && values.trees !== undefined) throw new UsageError('--once and --trees cannot be combined (--once sends one tree per scenario)');
  if (values.trees !== undefined && values.duration !== undefined) throw new UsageError('give --trees or --duration, not both');
  const durationMs = values.duration !== undefined ? parseDuration(values.duration) : undefined;
  let length: RunLength;
  if (once) length = { kind: 'once' };
  else if (values.trees !== undefined) length = { kind: 'trees', count: positiveInt('trees', values.trees, 1, 10_000_000) };
  else if (durationMs !== undefined) length = { kind: 'duration', ms: durationMs };
  else length = { kind: 'forever' };

  const fast = values.fast ?? false;
  let rate = fast ? 10 : 1;
  if (values.rate !== undefined) {
    rate = Number(values.rate);
    if (!Number.isFinite(rate) || rate <= 0 || rate > 10_000 || values.rate.trim() === '') {
      throw new UsageError(`--rate must be a number of trees per second above 0 and at most 10000 (got '${values.rate}')`);
    }
  }

  const seed = values.seed !== undefined ? positiveInt('seed', values.seed, 0, Number.MAX_SAFE_INTEGER) : null;
  const service = values.service ?? DEFAULT_SERVICE;
  if (service.trim() === '') throw new UsageError('--service must not be empty');
  const apiKey = values['api-key'] ?? env.CANOPY_API_KEY ?? undefined;
  if (values['api-key'] !== undefined && values['api-key'].trim() === '') throw new UsageError('--api-key must not be empty');

  return {
    endpoint,
    api,
    apiKey: apiKey || undefined,
    scenarios,
    length,
    durationMs,
    rate,
    seed,
    service,
    fast,
    spans: values.spans !== undefined ? positiveInt('spans', values.spans, 3, HUGE_MAX_SPANS) : undefined,
    baselineTrees: values.baseline !== undefined ? positiveInt('baseline', values.baseline, 0, 1_000) : DEFAULT_BASELINE_TREES,
    killCheck: !(values['no-kill-check'] ?? false),
    dryRun: values['dry-run'] ?? false,
    help,
  };
}
