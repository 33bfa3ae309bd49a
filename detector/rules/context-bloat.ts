// context_bloat: a conversation that keeps growing. Input tokens rising on consecutive model calls of one
// branch (each call carries the last one's context plus more: tool output appended every turn), or one call
// far above what its root name's calls usually carry (absolute default 100k tokens).
import { evidenceBaseline } from '../baseline';
import { branchName, evidence, FindingSet, severityOf, tokens, trusted, type Rule } from '../rule';

/** Calls are consecutive turns only when one starts after the previous ended: parallel calls share no context. */
const OVERLAP_TOLERANCE_US = 1_000; // span times are µs

export const contextBloatRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.context_bloat;
  if (!cfg.enabled || tree.nodes.length === 0) return [];
  const base = trusted(ctx.baseline, ctx);
  const out = new FindingSet('context_bloat');
  const callLimit = Math.max(cfg.callTokens, base ? cfg.callFactor * base.maxCallInputTokensP99 : 0);
  const criticalRun = Math.ceil(cfg.criticalFactor * cfg.risingCalls);

  for (let p = 0; p < tree.nodes.length; p++) {
    const kids = tree.children[p];
    if (kids.length === 0) continue;
    // Rising: the longest run of strictly growing inputs over sequential model calls.
    const calls: number[] = [];
    const big: number[] = [];
    for (const c of kids) {
      const s = tree.nodes[c].span;
      // Model calls counted once: a call two instrumentations reported is one turn, not two.
      if (s.category !== 'llm' || !tree.nodes[c].countsSpend || s.inputTokens <= 0) continue;
      calls.push(c);
      if (s.inputTokens > callLimit) big.push(c);
    }
    let runStart = 0;
    let bestStart = 0;
    let bestLen = 0;
    for (let k = 0; k < calls.length; k++) {
      const s = tree.nodes[calls[k]].span;
      if (k > 0) {
        const prev = tree.nodes[calls[k - 1]].span;
        if (!(s.start + OVERLAP_TOLERANCE_US >= prev.end && s.inputTokens > prev.inputTokens)) runStart = k;
      }
      const len = k - runStart + 1;
      const first = tree.nodes[calls[runStart]].span.inputTokens;
      if (len > bestLen && s.inputTokens >= cfg.risingMinTokens && s.inputTokens >= cfg.risingMinGrowth * first) {
        bestStart = runStart;
        bestLen = len;
      }
    }
    const best = calls.slice(bestStart, bestStart + bestLen);
    const branch = tree.nodes[p].span.spanId;
    const name = branchName(tree, p);
    if (best.length >= cfg.risingCalls) {
      const first = tree.nodes[best[0]].span.inputTokens;
      const last = tree.nodes[best[best.length - 1]].span.inputTokens;
      out.add(
        branch,
        best.length >= criticalRun ? 'critical' : 'warning',
        `Input grew on ${best.length} consecutive model calls under ${name}, ${tokens(first)} → ${tokens(last)} tokens`,
        evidence(tree, best, {
          metric: 'consecutive model calls with rising input tokens',
          value: best.length,
          warningAt: cfg.risingCalls,
          criticalAt: criticalRun,
          names: [...new Set(best.map((i) => tree.nodes[i].span.model ?? tree.nodes[i].span.name))],
          details: { firstInputTokens: first, lastInputTokens: last, growth: Math.round((100 * last) / first) / 100 },
        }),
      );
    }
    if (big.length > 0) {
      let top = big[0];
      for (const i of big) if (tree.nodes[i].span.inputTokens > tree.nodes[top].span.inputTokens) top = i;
      const t = tree.nodes[top].span.inputTokens;
      const severity = severityOf(t, callLimit + 1, cfg.criticalFactor * callLimit + 1) ?? 'warning';
      out.add(
        branch,
        severity,
        `${tree.nodes[top].span.model ?? 'A model'} call under ${name} carried ${tokens(t)} input tokens (limit ${tokens(callLimit)})`,
        evidence(tree, big, {
          metric: 'input tokens of one model call',
          value: t,
          warningAt: callLimit + 1,
          criticalAt: cfg.criticalFactor * callLimit + 1,
          names: [...new Set(big.map((i) => tree.nodes[i].span.model ?? tree.nodes[i].span.name))],
          baseline: base ? evidenceBaseline(base, undefined, base.maxCallInputTokensP99) : null,
          details: { calls: big.length, largestInputTokens: t },
        }),
      );
    }
  }
  return out.list();
};
