// A tree judged in the ingest stream against one history, and found clean, stands against the history the
// detector chooses later only if judging it there would find nothing either (cleanUnder). Checked here against
// the rules themselves: every scenario's trees, many histories (none, normal traffic, a cost history, and ones
// with far tighter or looser limits) and two rule settings. A clean answer must always be the rules' answer; a
// tree the later history flags (the spike that ends a series) is never taken as clean.
import { describe, expect, it } from 'vitest';
import { chooseBaseline, DEFAULT_SETTINGS, withSettings, type DetectorSettings, type RootBaseline } from '../../detector';
import { summariseHistory, treeStats, type TreeStats } from '../../detector/baseline';
import { cleanUnder, judgeTree } from '../../detector/judgement';
import { planSnapshot } from '../../detector/testing/from-plan';
import { scenarioCtx, scenarioPlan } from '../../detector/testing/plans';
import type { TreePlan } from '../../sim/plan';
import { treeRng } from '../../sim/random';
import { scenarioByName, SCENARIO_NAMES } from '../../sim/scenarios/index';
import { planNormal } from '../../sim/scenarios/normal';

const ANCHOR = 1_750_000_000_000;
const snapshot = (plan: TreePlan) => planSnapshot(plan, { anchorMs: ANCHOR });

function summary(trees: TreeStats[], settings: DetectorSettings): RootBaseline | null {
  return chooseBaseline(trees.length ? summariseHistory(trees, 'rootName') : null, null, settings);
}

/** The same history with every limit it sets scaled: tighter (f < 1) or looser. */
function scaled(b: RootBaseline, f: number): RootBaseline {
  const stats = (s: RootBaseline['cost']) => ({ ...s, median: s.median * f, p99: s.p99 * f, logMedian: s.logMedian + Math.log(f) });
  return {
    ...b,
    cost: stats(b.cost),
    costRate: stats(b.costRate),
    tokenRate: stats(b.tokenRate),
    spanRateP99: b.spanRateP99 * f,
    maxChildrenP99: b.maxChildrenP99 * f,
    maxDepthP99: b.maxDepthP99 * f,
    maxCallInputTokensP99: b.maxCallInputTokensP99 * f,
    durationP99Ms: b.durationP99Ms * f,
  };
}

const SENSITIVE = withSettings(DEFAULT_SETTINGS, { fanout: { growthMinSpans: 5 }, cost_spike: { minCostUsd: 0, minTokens: 0 }, context_bloat: { callTokens: 2_000 } });

describe('a clean judgement against another history (cleanUnder)', () => {
  for (const [label, settings] of [['default settings', DEFAULT_SETTINGS], ['sensitive settings', SENSITIVE]] as const) {
    it(`is clean only where the rules find nothing against that history (${label})`, () => {
      const normal = Array.from({ length: 120 }, (_, i) => snapshot(planNormal(treeRng(3, 'normal', 'tree', i))));
      const normalHistory = summary(normal.map(treeStats), settings)!;
      const costScenario = scenarioByName('cost_spike')!;
      const costHistory = summary(costScenario.baseline!(scenarioCtx('cost_spike', 1)).map((p) => treeStats(snapshot(p))), settings)!;
      expect(normalHistory.trees).toBe(120);
      const histories: (RootBaseline | null)[] = [null, normalHistory, costHistory];
      for (const b of [normalHistory, costHistory]) for (const f of [0.05, 0.3, 0.8, 1.5, 4]) histories.push(scaled(b, f));

      const trees = [...normal.slice(0, 40)];
      for (const name of SCENARIO_NAMES) for (let i = 0; i < 3; i++) trees.push(snapshot(scenarioPlan(name, 2, i)));
      let clean = 0;
      let judgedElsewhere = 0;
      for (const tree of trees) {
        for (const first of histories) {
          const j = judgeTree(tree, null, first, settings);
          if (j.findings.length > 0) continue;
          for (const later of histories) {
            const found = judgeTree(tree, null, later, settings).findings;
            if (cleanUnder(j, later, settings)) {
              clean++;
              expect(found.map((f) => f.title), `${tree.rootName} (${tree.traceId})`).toEqual([]);
            } else judgedElsewhere++;
          }
        }
      }
      // Most pairs are clean (the point: no read-back), and some are not (the check is not vacuous).
      expect(clean).toBeGreaterThan(judgedElsewhere);
      expect(judgedElsewhere).toBeGreaterThan(0);
    });
  }

  it('is never clean for the spike that ends a series: judged with no history, flagged against the series', () => {
    const costScenario = scenarioByName('cost_spike')!;
    const series = summary(costScenario.baseline!(scenarioCtx('cost_spike', 1)).map((p) => treeStats(snapshot(p))), DEFAULT_SETTINGS);
    const spike = snapshot(scenarioPlan('cost_spike', 1));
    const alone = judgeTree(spike, null, null, DEFAULT_SETTINGS);
    expect(alone.findings.filter((f) => f.rule === 'cost_spike' && f.evidence.metric.startsWith('robust z'))).toEqual([]);
    const againstSeries = judgeTree(spike, null, series, DEFAULT_SETTINGS).findings.filter((f) => f.rule === 'cost_spike');
    expect(againstSeries.length).toBeGreaterThan(0);
    expect(cleanUnder(alone, series, DEFAULT_SETTINGS)).toBe(false);
  });

  it('is never clean for a tree that was flagged, or one still running', () => {
    const loop = snapshot(scenarioPlan('loop', 1));
    const flagged = judgeTree(loop, null, null, DEFAULT_SETTINGS);
    expect(flagged.findings.length).toBeGreaterThan(0);
    expect(cleanUnder(flagged, null, DEFAULT_SETTINGS)).toBe(false);
    const plan = planNormal(treeRng(3, 'normal', 'tree', 1));
    const running = planSnapshot(plan, { anchorMs: ANCHOR, endedBy: plan.durationMs / 2 });
    const j = judgeTree(running, null, null, DEFAULT_SETTINGS);
    expect(j.stats).toBeNull();
    expect(cleanUnder(j, null, DEFAULT_SETTINGS)).toBe(false);
  });
});
