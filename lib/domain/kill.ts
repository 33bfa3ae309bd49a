// Kills: a whole request tree, or one branch of it, stopped on purpose. The record the API stores and shows,
// the control API's answer to a running agent, and the events pushed to agents. Shared by the server, the UI,
// the simulator and the SDK.
import type { TraceStatus } from './trace';

/** Who decided: a person (the API), the auto-kill policy acting on an alert, or a tree's budget. */
export type KillSource = 'manual' | 'auto' | 'budget';

/** `tree`: every span of the trace; `branch`: the span `spanId` and every span below it. */
export type KillScope = 'tree' | 'branch';

/** A reason is a short human sentence; longer ones are cut to this many characters. */
export const KILL_REASON_MAX_CHARS = 1_000;

export interface Kill {
  traceId: string;
  /** The root of the killed branch; null for the whole tree. */
  spanId: string | null;
  scope: KillScope;
  reason: string;
  source: KillSource;
  /** The alert that caused an automatic kill; null for a manual one. */
  alertId: string | null;
  createdAt: string; // ISO-8601
  /** Set once revived: the kill no longer stops anything. */
  revokedAt: string | null;
  active: boolean;
}

/** What a span of a trace detail says about the kill that covers it: the kill's key (the record is in `kills`). */
export interface KillRef {
  scope: KillScope;
  spanId: string | null;
}

/** The answer of `GET /api/control/:traceId`: may this tree, or this span, go on? */
export interface ControlAnswer {
  killed: boolean;
  scope: KillScope | null;
  reason: string | null;
  killedAt: string | null;
  /** The root of the killed branch that covers the span asked about (null for a tree kill or no kill). */
  killedSpanId: string | null;
  /** The tree's budget in force and its spend so far (each model call once, as the detector last saw it); null when it has none. */
  budget: { maxCostUsd: number; spentUsd: number } | null;
}

export const NOT_KILLED: ControlAnswer = Object.freeze({ killed: false, scope: null, reason: null, killedAt: null, killedSpanId: null, budget: null }) as ControlAnswer;

export function controlAnswer(kill: Kill): ControlAnswer {
  return { killed: true, scope: kill.scope, reason: kill.reason, killedAt: kill.createdAt, killedSpanId: kill.spanId, budget: null };
}

/** Pushed on `GET /api/control/events` (Server-Sent Events), one per kill or revive, in any process. */
export interface KillEvent {
  type: 'kill' | 'revive';
  kill: Kill;
}

/** A tree whose whole-tree kill is in force: `killed`, and `status: "killed"` whatever its spans say. */
export function killedSummary<T extends { killed: boolean; status: TraceStatus }>(summary: T): T {
  return { ...summary, killed: true, status: 'killed' };
}
