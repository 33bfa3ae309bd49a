// How the console names the detector's rules and an alert's states. Pure: no React.
import type { Alert, AlertRule, AlertStatus, AutoKillRecord } from '@/lib/domain';

export const RULE_LABEL: Record<AlertRule, string> = {
  loop: 'Loop',
  pingpong: 'Ping-pong',
  fanout: 'Fan-out',
  retry_storm: 'Retry storm',
  context_bloat: 'Context bloat',
  cost_spike: 'Cost spike',
  stall: 'Stall',
  budget: 'Budget',
};

export const STATUS_LABEL: Record<AlertStatus, string> = {
  open: 'Open',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
};

/**
 * A finding about the whole tree (spend, stall, growth) names the root as its span: killing "its branch"
 * would be killing the tree, so the console says so and kills the tree.
 */
export function alertScope(alert: Pick<Alert, 'evidence'>): 'tree' | 'branch' {
  return alert.evidence.details?.scope === 'tree' ? 'tree' : 'branch';
}

/** The link that opens the tree with the alert's span selected (the trace page reads `span`). */
export function alertLink(alert: Pick<Alert, 'traceId' | 'spanId'>): string {
  return `/traces/${encodeURIComponent(alert.traceId)}?span=${encodeURIComponent(alert.spanId)}`;
}

/** What the auto-kill policy did about the alert, in a sentence: "Would have killed the branch (observe)". */
export function autoKillText(record: AutoKillRecord): string {
  const what = record.action === 'tree' ? 'the whole tree' : `the branch${record.spanId ? ` under span ${record.spanId}` : ''}`;
  if (record.mode === 'observe') return `Would have killed ${what} (policy in observe mode, on ${record.severity})`;
  return record.killed ? `Killed ${what} automatically (on ${record.severity})` : `Auto-kill of ${what} found a kill already in force (on ${record.severity})`;
}
