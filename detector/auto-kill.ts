// Auto-kill: what the detector does by itself about an alert it raised or escalated, by the rule's policy
// (lib/domain/policy.ts, stored with the rule settings). `observe` records on the alert what would have been
// killed and when, so a user can promote the policy with confidence; `enforce` kills — the alert's branch or
// the whole tree — naming the alert. A budget alert's kill has the reason `budget`.
import { policyAction, severityRank, type AutoKillRecord, type Kill, type KillSource } from '../lib/domain';
import type { StoredAlert } from '../lib/server/queries/alerts';
import type { DetectorSettings } from './settings';

/** Stops a tree or a branch (the kill hub, lib/server/kill-hub.ts). */
export interface Killer {
  kill(input: { traceId: string; spanId: string | null; reason: string; source: KillSource; alertId: string }): Promise<{ kill: Kill; created: boolean }>;
}

/**
 * Applies the policies to alerts about to be written, setting `autoKill` on each one raised or escalated
 * (before it is stored and delivered, so the webhook says it too). A policy acts once per alert and severity:
 * a branch a person revived is not killed again for the same finding growing. A kill that fails is logged and
 * recorded as not killed.
 */
export async function applyAutoKill(alerts: readonly StoredAlert[], settings: DetectorSettings, killer: Killer | undefined, nowMs: number, log: (e: Record<string, unknown>) => void): Promise<void> {
  await Promise.all(
    alerts.map(async (alert) => {
      // The service spend chart's alerts concern a service, not a tree to stop.
      if (alert.status === 'resolved' || alert.branch === 'service') return;
      if (alert.autoKill && severityRank(alert.autoKill.severity) >= severityRank(alert.severity)) return;
      const policy = settings.autoKill[alert.rule];
      const action = policyAction(policy, alert.severity);
      if (action === 'off') return;
      // A tree-scope finding names the root: killing "its branch" is killing the tree.
      const scopeTree = action === 'tree' || alert.branch === '';
      const record: AutoKillRecord = { mode: policy.mode, action, spanId: scopeTree ? null : alert.spanId, severity: alert.severity, at: new Date(nowMs).toISOString(), killed: false };
      if (policy.mode === 'enforce' && killer) {
        try {
          const reason = alert.rule === 'budget' ? 'budget' : `auto-kill (${alert.rule}, ${alert.severity}): ${alert.title}`;
          const { created } = await killer.kill({ traceId: alert.traceId, spanId: record.spanId, reason, source: alert.rule === 'budget' ? 'budget' : 'auto', alertId: alert.id });
          record.killed = created;
        } catch (err) {
          log({ event: 'auto_kill_failed', alertId: alert.id, error: err instanceof Error ? err.message : String(err) });
        }
      }
      alert.autoKill = record;
    }),
  );
}
