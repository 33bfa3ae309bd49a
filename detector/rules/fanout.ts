// fanout: a request that spreads out of all proportion. A span running more children at once than
// max(20, 2 × its root name's usual p99); a tree deeper than max(16, 2 × the usual p99); a tree whose span
// count grows far faster than its root name's usually do (history only).
import { evidenceBaseline, rateMinutes, round, type RootBaseline, type TreeStats } from '../baseline';
import { branchName, evidence, FindingSet, severityOf, trusted, type Rule } from '../rule';
import type { DetectorSettings } from '../settings';
import { concurrentChildren, type TreeSnapshot } from '../snapshot';

type Fanout = DetectorSettings['fanout'];

/** Children running at once past which a span is flagged (a trusted history's p99 raises the floor). */
function widthLimit(cfg: Fanout, base: RootBaseline | null): number {
  return Math.max(cfg.minChildren, base ? cfg.childrenFactor * base.maxChildrenP99 : 0);
}

function depthLimit(cfg: Fanout, base: RootBaseline | null): number {
  return Math.max(cfg.maxDepth, base ? Math.ceil(cfg.depthFactor * base.maxDepthP99) : 0);
}

/** Spans per minute past which a tree grows too fast: only against a history, for trees of growthMinSpans. */
function growthLimit(cfg: Fanout, base: RootBaseline | null, spans: number): number | null {
  return base && spans >= cfg.growthMinSpans && base.spanRateP99 > 0 ? cfg.growthFactor * base.spanRateP99 : null;
}

/**
 * Whether a finished tree with these history numbers stays inside every limit of this rule against `base` (a
 * trusted history or null): its widest span, its depth and its growth are what the rule compares.
 */
export function fanoutQuiet(stats: TreeStats, base: RootBaseline | null, settings: DetectorSettings): boolean {
  const cfg = settings.fanout;
  if (!cfg.enabled) return true;
  if (stats.maxChildren > widthLimit(cfg, base) || stats.maxDepth > depthLimit(cfg, base)) return false;
  const growth = growthLimit(cfg, base, stats.spans);
  return growth === null || stats.spans / rateMinutes(stats.durationMs) < growth;
}

export const fanoutRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.fanout;
  if (!cfg.enabled || tree.spans.length === 0) return [];
  const base = trusted(ctx.baseline, ctx);
  const out = new FindingSet('fanout');

  // Width: children running at once.
  const childLimit = widthLimit(cfg, base);
  for (let i = 0; i < tree.spans.length; i++) {
    const kids = tree.children[i];
    if (kids.length <= childLimit) continue;
    const width = concurrentChildren(tree, i);
    const severity = severityOf(width, childLimit + 1, cfg.criticalFactor * childLimit + 1);
    if (!severity) continue;
    const names = topNames(tree, kids);
    out.add(
      tree.spans[i].spanId,
      severity,
      `${branchName(tree, i)} ran ${width} children at once (${names.map(([n, c]) => `${c} ${n}`).join(', ')}), limit ${childLimit}`,
      evidence(tree, kids, {
        metric: 'children running at once',
        value: width,
        warningAt: childLimit + 1,
        criticalAt: cfg.criticalFactor * childLimit + 1,
        names: names.map(([n]) => n),
        baseline: base ? evidenceBaseline(base, undefined, base.maxChildrenP99) : null,
        details: { children: kids.length, concurrent: width },
      }),
    );
  }

  // Depth: edges from the root to the deepest span.
  const deepest = tree.maxDepth - 1;
  const deepLimit = depthLimit(cfg, base);
  const depthSeverity = severityOf(deepest, deepLimit + 1, Math.ceil(cfg.criticalFactor * deepLimit) + 1);
  if (depthSeverity) {
    // The branch that crossed first: the earliest span one level past the limit. Stable as the tree grows.
    let cross = -1;
    let deepestIdx = -1;
    for (let i = 0; i < tree.spans.length; i++) {
      const d = tree.depth[i];
      if (d === deepLimit + 1 && (cross < 0 || tree.spans[i].start < tree.spans[cross].start)) cross = i;
      if (d === deepest && deepestIdx < 0) deepestIdx = i;
    }
    const path = pathTo(tree, deepestIdx);
    const names = topNames(tree, path);
    out.add(
      tree.spans[cross].spanId,
      depthSeverity,
      `${tree.rootName ? stripVerb(tree.rootName) : 'the tree'} nested ${deepest} levels deep (${names.map(([n, c]) => `${c}× ${n}`).join(', ')}), limit ${deepLimit}`,
      evidence(tree, path.slice(deepLimit), {
        metric: 'depth (edges from the root)',
        value: deepest,
        warningAt: deepLimit + 1,
        criticalAt: Math.ceil(cfg.criticalFactor * deepLimit) + 1,
        names: names.map(([n]) => n),
        baseline: base ? evidenceBaseline(base, undefined, base.maxDepthP99) : null,
        details: { depth: deepest, deepestSpanId: tree.spans[deepestIdx].spanId },
      }),
    );
  }

  // Growth: spans per minute of the tree's life so far, against its root name's history.
  const limit = growthLimit(cfg, base, tree.totals.spans);
  if (base && limit !== null) {
    const ageMs = (tree.running ? tree.now : tree.lastSpanMs) - tree.startMs;
    const rate = tree.totals.spans / rateMinutes(ageMs);
    const severity = severityOf(rate, limit, cfg.criticalFactor * limit);
    if (severity && tree.rootSpanId) {
      out.add(
        tree.rootSpanId,
        severity,
        `${stripVerb(tree.rootName) || 'The tree'} grew to ${tree.totals.spans.toLocaleString('en-US')} spans at ${Math.round(rate).toLocaleString('en-US')} spans/min, ${round(rate / base.spanRateP99, 1)}× ${base.scope === 'service' ? "its service's" : 'its'} usual p99`,
        evidence(tree, [], {
          metric: 'spans per minute',
          value: round(rate, 1),
          warningAt: round(limit, 1),
          criticalAt: round(cfg.criticalFactor * limit, 1),
          names: [tree.rootName],
          baseline: evidenceBaseline(base, undefined, base.spanRateP99),
          details: { scope: 'tree', spans: tree.totals.spans, ageMs: Math.round(ageMs) },
        }),
      );
    }
  }
  return out.list();
};

function pathTo(tree: TreeSnapshot, i: number): number[] {
  const path: number[] = [];
  for (let j = i; j >= 0; j = tree.parent[j]) path.push(j);
  return path.reverse();
}

/** The most frequent names among these spans, most frequent first (at most 3). */
function topNames(tree: TreeSnapshot, indexes: readonly number[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const i of indexes) {
    const s = tree.spans[i];
    const n = s.agentName ?? s.toolName ?? s.name;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3);
}

/** "invoke_agent Decomposer" → "Decomposer". */
export function stripVerb(name: string): string {
  const sp = name.indexOf(' ');
  return sp > 0 && /^(invoke_agent|create_agent|invoke_workflow)$/.test(name.slice(0, sp)) ? name.slice(sp + 1) : name;
}
