// context_bloat: a conversation that keeps growing. Input tokens rising on consecutive model calls of one
// branch (each call carries the last one's context plus more: tool output appended every turn), or one call
// far above what its root name's calls usually carry (absolute default 100k tokens).
import { evidenceBaseline, type RootBaseline, type TreeStats } from '../baseline';
import { branchName, evidence, FindingSet, severityOf, tokens, trusted, type Rule } from '../rule';
import type { DetectorSettings } from '../settings';

/** Calls are consecutive turns only when one starts after the previous ended: parallel calls share no context. */
const OVERLAP_TOLERANCE_US = 1_000; // span times are µs

/** Input tokens past which one model call is flagged (a trusted history's p99 raises the floor). */
function callLimitOf(cfg: DetectorSettings['context_bloat'], base: RootBaseline | null): number {
  return Math.max(cfg.callTokens, base ? cfg.callFactor * base.maxCallInputTokensP99 : 0);
}

/**
 * Whether no model call of a finished tree with these history numbers passes the one-call limit against `base`
 * (a trusted history or null). Rising input does not depend on the history.
 */
export function contextBloatQuiet(stats: TreeStats, base: RootBaseline | null, settings: DetectorSettings): boolean {
  const cfg = settings.context_bloat;
  return !cfg.enabled || stats.maxCallInputTokens <= callLimitOf(cfg, base);
}

export const contextBloatRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.context_bloat;
  if (!cfg.enabled || tree.spans.length === 0) return [];
  const base = trusted(ctx.baseline, ctx);
  const out = new FindingSet('context_bloat');
  const callLimit = callLimitOf(cfg, base);
  const criticalRun = Math.ceil(cfg.criticalFactor * cfg.risingCalls);

  // One array for every branch's model calls (with its own count): most branches have none, and an array each
  // was most of what this rule allocated.
  const calls: number[] = [];
  for (let p = 0; p < tree.spans.length; p++) {
    const kids = tree.children[p];
    if (kids.length === 0) continue;
    // Rising: the longest run of strictly growing inputs over sequential model calls.
    let n = 0;
    let bigs = 0;
    for (let k = 0; k < kids.length; k++) {
      const c = kids[k];
      const s = tree.spans[c];
      // Model calls counted once: a call two instrumentations reported is one turn, not two.
      if (s.category !== 'llm' || !tree.countsSpend[c] || s.inputTokens <= 0) continue;
      calls[n++] = c;
      if (s.inputTokens > callLimit) bigs++;
    }
    if (n === 0) continue;
    let runStart = 0;
    let bestStart = 0;
    let bestLen = 0;
    for (let k = 0; k < n; k++) {
      const s = tree.spans[calls[k]];
      if (k > 0) {
        const prev = tree.spans[calls[k - 1]];
        if (!(s.start + OVERLAP_TOLERANCE_US >= prev.end && s.inputTokens > prev.inputTokens)) runStart = k;
      }
      const len = k - runStart + 1;
      const first = tree.spans[calls[runStart]].inputTokens;
      if (len > bestLen && s.inputTokens >= cfg.risingMinTokens && s.inputTokens >= cfg.risingMinGrowth * first) {
        bestStart = runStart;
        bestLen = len;
      }
    }
    if (bestLen < cfg.risingCalls && bigs === 0) continue;
    const best = calls.slice(bestStart, bestStart + bestLen);
    const big = bigs > 0 ? calls.slice(0, n).filter((c) => tree.spans[c].inputTokens > callLimit) : [];
    const branch = tree.spans[p].spanId;
    const name = branchName(tree, p);
    if (best.length >= cfg.risingCalls) {
      const first = tree.spans[best[0]].inputTokens;
      const last = tree.spans[best[best.length - 1]].inputTokens;
      out.add(
        branch,
        best.length >= criticalRun ? 'critical' : 'warning',
        `Input grew on ${best.length} consecutive model calls under ${name}, ${tokens(first)} → ${tokens(last)} tokens`,
        evidence(tree, best, {
          metric: 'consecutive model calls with rising input tokens',
          value: best.length,
          warningAt: cfg.risingCalls,
          criticalAt: criticalRun,
          names: [...new Set(best.map((i) => tree.spans[i].model ?? tree.spans[i].name))],
          details: { firstInputTokens: first, lastInputTokens: last, growth: Math.round((100 * last) / first) / 100 },
        }),
      );
    }
    if (big.length > 0) {
      let top = big[0];
      for (const i of big) if (tree.spans[i].inputTokens > tree.spans[top].inputTokens) top = i;
      const t = tree.spans[top].inputTokens;
      const severity = severityOf(t, callLimit + 1, cfg.criticalFactor * callLimit + 1) ?? 'warning';
      out.add(
        branch,
        severity,
        `${tree.spans[top].model ?? 'A model'} call under ${name} carried ${tokens(t)} input tokens (limit ${tokens(callLimit)})`,
        evidence(tree, big, {
          metric: 'input tokens of one model call',
          value: t,
          warningAt: callLimit + 1,
          criticalAt: cfg.criticalFactor * callLimit + 1,
          names: [...new Set(big.map((i) => tree.spans[i].model ?? tree.spans[i].name))],
          baseline: base ? evidenceBaseline(base, undefined, base.maxCallInputTokensP99) : null,
          details: { calls: big.length, largestInputTokens: t },
        }),
      );
    }
  }
  return out.list();
};
