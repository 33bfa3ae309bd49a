// retry_storm: a transient failure turned into a flood. One branch hitting the same error class (rate
// limit, 5xx, timeout, connection) again and again; or a tree whose retries pass Envoy's retry budget
// (20% of its calls, at least 3). A retry is a call of the same tool or model, on the same branch, right
// after that call failed there. Spans the kill switch ended (error.type "killed") never count.
import { classifyError } from '../errors';
import { branchName, evidence, FindingSet, severityOf, type Rule } from '../rule';
import type { ErrorClass } from '../settings';
import { isCall, type TreeSnapshot } from '../snapshot';

const CLASS_WORDS: Record<ErrorClass, string> = {
  rate_limited: 'rate limits',
  server_error: 'server errors',
  timeout: 'timeouts',
  connection: 'connection errors',
  other: 'errors',
};

export const retryStormRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.retry_storm;
  if (!cfg.enabled || tree.spans.length === 0) return [];
  // Made at the first branch with a failed call (most trees have none), as is the count of retries by target.
  let counted: Set<ErrorClass> | null = null;
  const out = new FindingSet('retry_storm');
  const retried: number[] = [];
  let retryKeys: Map<string, number> | null = null;

  for (let p = 0; p < tree.spans.length; p++) {
    const kids = tree.children[p];
    if (kids.length < 2 || !anyCallFailed(tree, kids)) continue;
    const failures = new Map<ErrorClass, number[]>();
    const lastFailed = new Map<string, boolean>();
    for (const c of kids) {
      const s = tree.spans[c];
      if (!isCall(s)) continue;
      const target = callTarget(tree, c);
      if (lastFailed.get(target)) {
        retried.push(c);
        retryKeys ??= new Map();
        retryKeys.set(target, (retryKeys.get(target) ?? 0) + 1);
      }
      const cls = classifyError(s);
      lastFailed.set(target, cls !== null);
      counted ??= new Set(cfg.errorClasses);
      if (cls === null || !counted.has(cls)) continue;
      const list = failures.get(cls);
      if (list) list.push(c);
      else failures.set(cls, [c]);
    }
    for (const [cls, list] of failures) {
      const severity = severityOf(list.length, cfg.branchErrors, cfg.branchCritical);
      if (!severity) continue;
      const first = tree.spans[list[0]];
      const targets = [...new Set(list.map((i) => callTarget(tree, i)))];
      const detail = first.errorType ? ` (${first.errorType}${first.httpStatus ? `, HTTP ${first.httpStatus}` : ''})` : first.httpStatus ? ` (HTTP ${first.httpStatus})` : '';
      out.add(
        tree.spans[p].spanId,
        severity,
        `${targets.slice(0, 2).join(' and ')} failed ${list.length}× with ${CLASS_WORDS[cls]}${detail} under ${branchName(tree, p)}`,
        evidence(tree, list, {
          metric: `${cls} failures on one branch`,
          value: list.length,
          warningAt: cfg.branchErrors,
          criticalAt: cfg.branchCritical,
          names: [cls, ...(first.errorType ? [first.errorType] : []), ...targets.slice(0, 3)],
          details: { errorClass: cls, errorType: first.errorType, httpStatus: first.httpStatus, branchCalls: kids.length },
        }),
      );
    }
  }

  // Tree-wide retry budget.
  const calls = tree.totals.calls;
  const retries = retried.length;
  if (calls > 0 && retries >= cfg.minRetries && retries > cfg.retryBudget * calls && tree.rootSpanId) {
    const severity = retries >= cfg.treeCritical ? 'critical' : 'warning';
    const top = [...(retryKeys ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 3);
    out.add(
      tree.rootSpanId,
      severity,
      `${retries} of ${calls} calls were retries (${Math.round((100 * retries) / calls)}%, budget ${Math.round(cfg.retryBudget * 100)}%), mostly ${top[0][0]}`,
      evidence(tree, retried, {
        metric: 'retries in the tree',
        value: retries,
        warningAt: Math.max(cfg.minRetries, Math.floor(cfg.retryBudget * calls) + 1),
        criticalAt: cfg.treeCritical,
        names: top.map(([k]) => k),
        details: { scope: 'tree', calls, retries, retryShare: Math.round((1000 * retries) / calls) / 1000, retryBudget: cfg.retryBudget },
      }),
    );
  }
  return out.list();
};

/** Whether any of these calls failed (a branch where none did has neither failures nor retries: most branches). */
function anyCallFailed(tree: TreeSnapshot, kids: readonly number[]): boolean {
  for (let k = 0; k < kids.length; k++) {
    const s = tree.spans[kids[k]];
    if (s.status === 'error' && isCall(s)) return true;
  }
  return false;
}

/** What a call calls: the tool's name, else the model, else the span name. */
function callTarget(tree: TreeSnapshot, i: number): string {
  const s = tree.spans[i];
  return s.category === 'tool' ? (s.toolName ?? s.name) : (s.model ?? s.name);
}
