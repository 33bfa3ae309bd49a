import type { AutoKillRecord } from './policy';

// Alerts: what the runaway detector decides about a request tree (a finding), and the stored alert the
// API, the UI and the webhook show. Shared by the detector (detector/), the server and the UI.

/** The detector's rules, one module each under detector/rules/. */
export type DetectorRule = 'loop' | 'pingpong' | 'fanout' | 'retry_storm' | 'context_bloat' | 'cost_spike' | 'stall';
export const DETECTOR_RULES: readonly DetectorRule[] = ['loop', 'pingpong', 'fanout', 'retry_storm', 'context_bloat', 'cost_spike', 'stall'];

/** What an alert is about: one of the detector's rules, or a tree that passed its budget (lib/domain/budget.ts). */
export type AlertRule = DetectorRule | 'budget';
export const ALERT_RULES: readonly AlertRule[] = [...DETECTOR_RULES, 'budget'];

export type AlertSeverity = 'warning' | 'critical';
export const ALERT_SEVERITIES: readonly AlertSeverity[] = ['warning', 'critical'];

/** Why an alert is delivered: it was raised, or its severity rose past what was delivered. */
export type AlertChange = 'new' | 'escalated';

export type AlertStatus = 'open' | 'acknowledged' | 'resolved';
export const ALERT_STATUSES: readonly AlertStatus[] = ['open', 'acknowledged', 'resolved'];

/** At most this many span ids ride in one alert's evidence; `spanCount` says how many there were. */
export const EVIDENCE_MAX_SPAN_IDS = 20;

/** The history a finding was judged against (cost_spike, and the usual-p99 limits of the shape rules). */
export interface AlertBaseline {
  /** Finished trees of history behind the numbers. */
  trees: number;
  /** `rootName` or `service` (the service-wide fallback when the root name has too little history). */
  scope: 'rootName' | 'service';
  median?: number;
  mad?: number;
  p99?: number;
}

export interface AlertEvidence {
  /** The spans that show the pattern, in time order, capped at EVIDENCE_MAX_SPAN_IDS. */
  spanIds: string[];
  /** How many spans show it in all (spanIds may be capped). */
  spanCount: number;
  /** What `value` measures, e.g. "identical calls in a row", "children", "robust z-score of cost". */
  metric: string;
  /** The measured value, compared with the two thresholds below. */
  value: number;
  warningAt: number;
  criticalAt: number;
  /** The repeated tool / agent / model names, or the error class, as the rule saw them. */
  names: string[];
  baseline: AlertBaseline | null;
  /**
   * Rule-specific numbers (cycle length, tree cost, retries, ...). Flat, JSON-safe. `scope: 'tree'` marks a
   * finding about the whole tree (spend, stall, growth, retry budget): its spanId is the root's, or while the
   * root has not arrived the earliest top's, so storage may key it by trace and rule alone.
   */
  details: Record<string, string | number | boolean | null>;
}

/** One rule's verdict on one branch of one tree: at most one per (tree, rule, branch). */
export interface Finding<R extends AlertRule = AlertRule> {
  rule: R;
  severity: AlertSeverity;
  /** The root of the branch it concerns (the span a kill would stop). */
  spanId: string;
  /** One human sentence: "run_tests called 12× with identical arguments under CodingAgent". */
  title: string;
  evidence: AlertEvidence;
}

/** True for the findings and alerts of the detector's rules (all but `budget`). */
export function byDetectorRule<T extends { rule: AlertRule }>(x: T): x is T & { rule: DetectorRule } {
  return x.rule !== 'budget';
}

/** A finding of one of the detector's rules (every alert but `budget`). */
export type RuleFinding = Finding<DetectorRule>;

/** A finding as stored and served: one row per (traceId, rule, spanId), updated in place as evidence grows. */
export interface Alert extends Finding {
  id: string;
  traceId: string;
  status: AlertStatus;
  firstSeen: string; // ISO-8601
  lastSeen: string;
  /** What the rule's auto-kill policy did (enforce) or would have done (observe) about it; null when it took no action. */
  autoKill: AutoKillRecord | null;
}

export function severityRank(s: AlertSeverity): number {
  return s === 'critical' ? 2 : 1;
}
