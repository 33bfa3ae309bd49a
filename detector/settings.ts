// Every threshold of every rule, in one typed object with its defaults in one place. The API validates
// PUT bodies with `detectorSettingsSchema` (unknown keys are refused, so a typo names its field); a body
// may leave out any section or field, which then takes its default. docs/DETECTION.md gives each default
// its source and reasoning.
import { z } from 'zod';
import { POLICY_ACTIONS, POLICY_MODES, type AutoKillPolicy } from '../lib/domain/policy';

const count = (min = 1) => z.number().int().min(min);
const positive = () => z.number().positive();
const on = () => z.boolean().default(true);

/** Error classes (see classifyError in detector/errors.ts) that count towards a retry storm. */
export const ERROR_CLASSES = ['rate_limited', 'server_error', 'timeout', 'connection', 'other'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

const loop = z
  .strictObject({
    enabled: on(),
    /** The same call signature this many times in a row on one branch (its tool calls, or its model calls). */
    consecutive: count(2).default(3),
    /** ... or this many times anywhere in the tree. */
    anywhere: count(2).default(5),
    /** Either count reaching this is critical. */
    critical: count(2).default(10),
    /** The same call failing with the same error type this many times (warning; critical at `critical`). */
    sameFailure: count(2).default(3),
  })
  .refine((s) => s.critical > s.consecutive && s.critical >= s.anywhere, { message: 'critical must exceed consecutive and be at least anywhere', path: ['critical'] });

const pingpong = z
  .strictObject({
    enabled: on(),
    /** Cycle lengths looked for: A→B (2) up to A→B→C→D→E (5). Length 1 is a loop, not a ping-pong. */
    minCycle: count(2).default(2),
    maxCycle: count(2).max(16).default(5),
    /** Full repetitions of the cycle for a warning, and for critical. */
    repeats: count(2).default(3),
    critical: count(2).default(5),
    /** Cycles between agents (siblings taking turns, or agents nested in each other). */
    agents: on(),
    /** Cycles between call signatures on one branch (the same few calls polled round and round). */
    signatures: on(),
  })
  .refine((s) => s.maxCycle >= s.minCycle, { message: 'maxCycle must be at least minCycle', path: ['maxCycle'] })
  .refine((s) => s.critical > s.repeats, { message: 'critical must exceed repeats', path: ['critical'] });

const fanout = z.strictObject({
  enabled: on(),
  /** A span with more children than max(minChildren, childrenFactor × the root name's usual p99). */
  minChildren: count(1).default(20),
  childrenFactor: positive().default(2),
  /** Depth (edges from the root) past max(maxDepth, depthFactor × the usual p99). */
  maxDepth: count(1).default(16),
  depthFactor: positive().default(2),
  /** Spans per minute past growthFactor × the usual p99, once the tree has growthMinSpans spans (history only). */
  growthFactor: positive().default(2),
  growthMinSpans: count(1).default(500),
  /** Critical once the value passes this multiple of its limit. */
  criticalFactor: positive().min(1).default(2),
});

const retryStorm = z.strictObject({
  enabled: on(),
  /** Failures of one error class on one branch (one parent's calls). */
  branchErrors: count(2).default(3),
  branchCritical: count(2).default(10),
  /** Retries (a call of the same tool/model right after it failed on the same branch) above this share of the tree's calls ... */
  retryBudget: z.number().min(0).max(1).default(0.2),
  /** ... and at least this many (Envoy's min_retry_concurrency). */
  minRetries: count(1).default(3),
  treeCritical: count(2).default(30),
  /** Which error classes count. `other` (a tool's own error, a validation error) is a loop's business by default. */
  errorClasses: z.array(z.enum(ERROR_CLASSES)).min(1).default(['rate_limited', 'server_error', 'timeout', 'connection']),
});

const contextBloat = z.strictObject({
  enabled: on(),
  /** Input tokens strictly rising over this many consecutive sequential model calls of one branch ... */
  risingCalls: count(3).default(5),
  /** ... growing by at least this factor from the first to the last of them ... */
  risingMinGrowth: z.number().min(1).default(1.5),
  /** ... with the last at least this large. */
  risingMinTokens: count(0).default(5_000),
  /** One call's input tokens past max(callTokens, callFactor × the root name's usual p99 of its largest call). */
  callTokens: count(1).default(100_000),
  callFactor: positive().default(2),
  /** Critical: twice the rising calls, or a call past criticalFactor × the per-call limit. */
  criticalFactor: positive().min(1).default(2),
});

const costSpike = z.strictObject({
  enabled: on(),
  /** Robust z-score 0.6745·(x − median)/MAD above this is a spike (Iglewicz & Hoaglin). */
  zThreshold: positive().default(3.5),
  criticalZ: positive().default(7),
  /**
   * ... and the value must also pass this multiple of the history's own p99 of it: a workflow's ordinary
   * tail (the long-document request, 8–10× the median, one in ten) is a mode of its own, not an outlier.
   */
  p99Factor: z.number().min(0).default(3),
  /**
   * Judge ln(x) rather than x: tree spend is log-normal (a product of token counts and prices), and on the
   * linear scale the ordinary long tail of a workflow (the one request in ten with a long document) reads as
   * a spike. On the log scale z = 3.5 means "this many times the median", scaled by the history's own spread.
   */
  logScale: on(),
  /**
   * MAD floor, as a share of the median (log scale: ln(1 + ratio)), so a history of near-identical trees
   * cannot make every extra cent a spike.
   */
  madFloorRatio: z.number().min(0).default(0.1),
  /** Trees spending less than this never page. */
  minCostUsd: z.number().min(0).default(0.25),
  /**
   * tokens/min is judged only on trees with at least this many tokens, and on a tree under the $ floor only
   * when its unpriced calls alone have this many (their spend is unknown).
   */
  minTokens: count(0).default(250_000),
  /**
   * Overrun: a tree still going (or finished) after overrunFactor × the usual p99 duration that has spent at
   * least minCostUsd: its spend has no end in sight (the slow burn). Critical past overrunCritical × p99.
   */
  overrunFactor: z.number().min(1).default(1.5),
  overrunCritical: z.number().min(1).default(4),
  /** The service-level spend-rate anomaly (EWMA control chart over spend buckets). */
  ewmaLambda: z.number().gt(0).max(1).default(0.2),
  ewmaK: positive().default(3),
  ewmaBucketMinutes: positive().default(5),
  /** Buckets of history before the service chart judges anything. */
  ewmaMinBuckets: count(2).default(12),
});

const stall = z.strictObject({
  enabled: on(),
  /** A running tree with no new span for max(idleMinutes, durationFactor × the root name's usual p99 duration). */
  idleMinutes: positive().default(10),
  durationFactor: positive().default(3),
  criticalFactor: positive().min(1).default(2),
});

const baseline = z.strictObject({
  /** Finished trees of a root name (or service) before its history is trusted. */
  minTrees: count(2).default(20),
  /**
   * A root name with too little history, or a running tree (its root name is not known until the root span
   * ends), is judged against its service's history: the shape limits, the overrun and the stall. Spend
   * z-scores never fall back: a workflow's cost is not comparable with the service's other workflows.
   */
  serviceFallback: on(),
});

const action = z.enum(POLICY_ACTIONS);
const policy = (defaults: AutoKillPolicy) =>
  z
    .strictObject({ mode: z.enum(POLICY_MODES).default(defaults.mode), warning: action.default(defaults.warning), critical: action.default(defaults.critical) })
    .default(() => ({ ...defaults }));
/** Off for every rule but `budget`: a kill is a decision a user should promote to, from observe (lib/domain/policy.ts). */
const OBSERVE_ONLY: AutoKillPolicy = { mode: 'observe', warning: 'off', critical: 'off' };
const autoKill = z.strictObject({
  loop: policy(OBSERVE_ONLY),
  pingpong: policy(OBSERVE_ONLY),
  fanout: policy(OBSERVE_ONLY),
  retry_storm: policy(OBSERVE_ONLY),
  context_bloat: policy(OBSERVE_ONLY),
  cost_spike: policy(OBSERVE_ONLY),
  stall: policy(OBSERVE_ONLY),
  /** A tree past its budget is killed, whole: that is what a budget is for. */
  budget: policy({ mode: 'enforce', warning: 'tree', critical: 'tree' }),
});

export const detectorSettingsSchema = z.strictObject({
  loop: loop.default(() => loop.parse({})),
  pingpong: pingpong.default(() => pingpong.parse({})),
  fanout: fanout.default(() => fanout.parse({})),
  retry_storm: retryStorm.default(() => retryStorm.parse({})),
  context_bloat: contextBloat.default(() => contextBloat.parse({})),
  cost_spike: costSpike.default(() => costSpike.parse({})),
  stall: stall.default(() => stall.parse({})),
  baseline: baseline.default(() => baseline.parse({})),
  /** What Canopy kills by itself, per rule and severity, and whether it only records what it would have killed. */
  autoKill: autoKill.default(() => autoKill.parse({})),
});

export type DetectorSettings = z.infer<typeof detectorSettingsSchema>;
/** What a PUT body may hold: any section or field left out takes its default. */
export type DetectorSettingsInput = z.input<typeof detectorSettingsSchema>;

export const DEFAULT_SETTINGS: DetectorSettings = detectorSettingsSchema.parse({});

/** Validated settings, every missing field at its default. Throws a ZodError naming the bad field. */
export function parseSettings(input: unknown): DetectorSettings {
  return detectorSettingsSchema.parse(input ?? {});
}

/**
 * `base` with `patch` laid over it section by section (a PATCH-like helper for tests and the backtest:
 * `withSettings(DEFAULT_SETTINGS, { loop: { consecutive: 4 } })`). The result is validated.
 */
export function withSettings(base: DetectorSettings, patch: { [K in keyof DetectorSettings]?: Partial<DetectorSettings[K]> }): DetectorSettings {
  const merged: Record<string, unknown> = {};
  for (const key of Object.keys(base) as (keyof DetectorSettings)[]) merged[key] = { ...base[key], ...(patch[key] ?? {}) };
  return parseSettings(merged);
}
