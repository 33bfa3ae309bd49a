// Auto-kill policies: what Canopy does by itself when an alert is raised. One policy per rule (the detector's
// rules and `budget`), with an action per severity and a mode. Stored with the detector's rule settings
// (`autoKill` in GET/PUT /api/detector/rules). Shared by the detector, the server and the settings page.
import type { AlertSeverity } from './alert';

/** Kill nothing, the alert's branch (the span it names and everything below), or the whole tree. */
export type PolicyAction = 'off' | 'branch' | 'tree';
export const POLICY_ACTIONS: readonly PolicyAction[] = ['off', 'branch', 'tree'];

/** `observe`: record on the alert what would have been killed, and when; `enforce`: kill. */
export type PolicyMode = 'observe' | 'enforce';
export const POLICY_MODES: readonly PolicyMode[] = ['observe', 'enforce'];

export interface AutoKillPolicy {
  mode: PolicyMode;
  /** The action for a warning, and for a critical alert. */
  warning: PolicyAction;
  critical: PolicyAction;
}

/** What a policy did (enforce) or would have done (observe) about one alert, stored on the alert. */
export interface AutoKillRecord {
  mode: PolicyMode;
  action: Exclude<PolicyAction, 'off'>;
  /** The branch root killed, or null for the whole tree. */
  spanId: string | null;
  severity: AlertSeverity;
  at: string; // ISO-8601
  /** Enforce only: true once the kill is stored (false when a kill was already in force). */
  killed: boolean;
}

/** The action a policy takes on an alert of this severity. */
export function policyAction(policy: AutoKillPolicy | undefined, severity: AlertSeverity): PolicyAction {
  if (!policy) return 'off';
  return severity === 'critical' ? policy.critical : policy.warning;
}
