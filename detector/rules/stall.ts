// stall: a running tree that went quiet. No root span yet (the request has not finished) and no new span
// for max(10 min, 3 × its root name's usual p99 duration): an agent waiting forever on something. Quiet
// trees receive no spans, so an incremental detector never looks at them on its own: the storage side must
// also hand this rule the running trees whose last span is older than the idle limit (see DETECTION.md).
import { evidenceBaseline } from '../baseline';
import { evidence, FindingSet, minutes, severityOf, trusted, type Rule } from '../rule';
import { stripVerb } from './fanout';

export const stallRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.stall;
  if (!cfg.enabled || tree.spans.length === 0 || !tree.running || !tree.rootSpanId) return [];
  // A running tree's root name is not known yet: the caller passes the service's history, or none.
  const base = trusted(ctx.baseline, ctx);
  const limit = Math.max(cfg.idleMinutes * 60_000, base ? cfg.durationFactor * base.durationP99Ms : 0);
  const idle = tree.now - Math.max(tree.lastSeenMs, tree.lastSpanMs);
  const severity = severityOf(idle, limit, cfg.criticalFactor * limit);
  if (!severity) return [];
  const out = new FindingSet('stall');
  const name = tree.rootName ? stripVerb(tree.rootName) : `Running tree (${tree.totals.spans} spans so far)`;
  out.add(
    tree.rootSpanId,
    severity,
    `${name} has received no span for ${minutes(idle)} and has not finished (limit ${minutes(limit)})`,
    evidence(tree, [], {
      metric: 'minutes since the last span, the tree still running',
      value: Math.round(idle / 600) / 100,
      warningAt: Math.round(limit / 600) / 100,
      criticalAt: Math.round((cfg.criticalFactor * limit) / 600) / 100,
      names: [tree.rootName || tree.serviceName],
      baseline: base ? evidenceBaseline(base, undefined, base.durationP99Ms) : null,
      details: { scope: 'tree', lastSeenMs: Math.round(tree.lastSeenMs), spans: tree.totals.spans, startMs: Math.round(tree.startMs) },
    }),
  );
  return out.list();
};
