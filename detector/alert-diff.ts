// From one evaluation of a tree to the alert rows to write: one alert per (tree, rule, branch), updated in place
// as its evidence grows, escalated but never de-escalated, resolved when the rule no longer finds it, and a
// webhook notice only for a new alert or a higher severity than was ever delivered. Pure: the detector's
// service reads the stored alerts, calls this and writes what it returns.
import { severityRank, type AlertChange, type AlertRule, type AlertSeverity, type Finding } from '../lib/domain';
import type { StoredAlert } from '../lib/server/queries/alerts';

export type { AlertChange };

export interface AlertNotice {
  alert: StoredAlert;
  change: AlertChange;
}

export interface AlertDiff {
  writes: StoredAlert[];
  notices: AlertNotice[];
}

/**
 * The branch part of an alert's key: '' for a finding about the whole tree (its span id moves to the root),
 * 'service' for the service's spend chart pointing at this tree.
 */
export function branchOf(f: Finding): string {
  const scope = f.evidence.details.scope;
  return scope === 'tree' ? '' : scope === 'service' ? 'service' : f.spanId;
}

export interface DiffContext {
  traceId: string;
  nowMs: number;
  /** A new row's version (above every stored one). */
  version: () => number;
  id: (traceId: string, rule: AlertRule, branch: string) => string;
}

const higher = (a: AlertSeverity, b: AlertSeverity): AlertSeverity => (severityRank(a) >= severityRank(b) ? a : b);

export function diffAlerts(findings: readonly Finding[], stored: readonly StoredAlert[], ctx: DiffContext): AlertDiff {
  // Nothing found and nothing stored, as for most trees: nothing to write.
  if (findings.length === 0 && stored.length === 0) return { writes: [], notices: [] };
  const byKey = new Map(stored.map((a) => [`${a.rule}/${a.branch}`, a]));
  const seen = new Set<string>();
  const writes: StoredAlert[] = [];
  const notices: AlertNotice[] = [];
  const now = new Date(ctx.nowMs).toISOString();

  for (const f of findings) {
    const branch = branchOf(f);
    const key = `${f.rule}/${branch}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const old = byKey.get(key);
    if (!old) {
      const alert: StoredAlert = {
        id: ctx.id(ctx.traceId, f.rule, branch),
        traceId: ctx.traceId,
        rule: f.rule,
        branch,
        spanId: f.spanId,
        severity: f.severity,
        title: f.title,
        autoKill: null,
        evidence: f.evidence,
        status: 'open',
        firstSeen: now,
        lastSeen: now,
        notified: null,
        version: ctx.version(),
      };
      writes.push(alert);
      notices.push({ alert, change: 'new' });
      continue;
    }
    const severity = higher(f.severity, old.severity);
    const escalated = severityRank(severity) > severityRank(old.severity);
    // A lower severity than stored keeps the stored title and evidence: the alert says what it escalated on.
    const lower = severityRank(f.severity) < severityRank(old.severity);
    const changed =
      escalated ||
      old.status === 'resolved' ||
      old.spanId !== f.spanId ||
      (!lower && (old.title !== f.title || old.evidence.value !== f.evidence.value || old.evidence.spanCount !== f.evidence.spanCount));
    if (!changed) continue;
    const alert: StoredAlert = {
      ...old,
      spanId: f.spanId,
      severity,
      title: lower ? old.title : f.title,
      evidence: lower ? old.evidence : f.evidence,
      // Escalation or a finding back after it was resolved needs someone's attention again.
      status: escalated || old.status === 'resolved' ? 'open' : old.status,
      lastSeen: now,
      version: ctx.version(),
    };
    writes.push(alert);
    const delivered = old.notified ? severityRank(old.notified) : 0;
    if (severityRank(severity) > delivered) notices.push({ alert, change: old.notified ? 'escalated' : 'new' });
  }

  // What the rules no longer find on this tree is over (a stalled tree got spans, a branch moved up).
  for (const old of stored) {
    if (old.status === 'resolved' || seen.has(`${old.rule}/${old.branch}`)) continue;
    writes.push({ ...old, status: 'resolved', lastSeen: now, version: ctx.version() });
  }
  return { writes, notices };
}
