// A request that looks like any other of its workflow (same root name, same shape) but burns 30× the
// usual spend because every call carries a huge context. It only stands out against the baseline of
// normal trees of that root name, which is sent first.

import { WORKFLOWS } from '../workflows';
import type { TreePlan } from '../plan';
import type { Scenario, ScenarioContext } from '../scenario';
import { planNormal } from './normal';

export const COST_SPIKE_MIN_RATIO = 30;
/** Aim above the claim so the claim holds under any price table that keeps relative prices. */
const TARGET_RATIO = 36;

function workflowOf(ctx: ScenarioContext) {
  // One workflow per run, shared by the baseline and every spike of the run.
  return ctx.stream('workflow', 0).pick(WORKFLOWS);
}

function baselinePlans(ctx: ScenarioContext): TreePlan[] {
  const workflow = workflowOf(ctx);
  const plans: TreePlan[] = [];
  for (let i = 0; i < ctx.baselineTrees; i++) {
    // Baseline trees are plain normal traffic (one convention, so the ratio does not hinge on normalisers).
    const plan = planNormal(ctx.stream('baseline', i), { workflow, mixConventions: false });
    plan.baselineFor = 'cost_spike';
    plans.push(plan);
  }
  return plans;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const cost_spike: Scenario = {
  name: 'cost_spike',
  summary: `a normal-shaped tree of a known root name burning ${COST_SPIKE_MIN_RATIO}× its usual spend (huge contexts), after a baseline`,
  baseline: baselinePlans,
  build(ctx) {
    const workflow = workflowOf(ctx);
    const baselineCosts = baselinePlans({ ...ctx, baselineTrees: Math.max(ctx.baselineTrees, 5) }).map((p) => Number(p.expect.estCostUsd));
    const usual = median(baselineCosts);
    let inputScale = 30;
    // Huge contexts, not long answers: output grows a little, which also keeps the tree's latency sane.
    const outputScale = 1.5;
    let plan: TreePlan | null = null;
    // Same stream each attempt, so only the token counts change between attempts, never the shape.
    for (let attempt = 0; attempt < 8; attempt++) {
      plan = planNormal(ctx.stream('spike', ctx.index), {
        scenario: 'cost_spike',
        workflow,
        mixConventions: false,
        heavyTail: false,
        inputScale,
        outputScale,
      });
      const ratio = Number(plan.expect.estCostUsd) / usual;
      if (ratio >= TARGET_RATIO) break;
      inputScale *= (TARGET_RATIO / ratio) * 1.05;
    }
    if (!plan) throw new Error('cost_spike: no plan');
    const estCost = Number(plan.expect.estCostUsd);
    plan.expect = {
      ...plan.expect,
      costRatioMin: COST_SPIKE_MIN_RATIO,
      estRatio: Number((estCost / usual).toFixed(1)),
      baselineMedianEstCostUsd: Number(usual.toFixed(6)),
      baselineTrees: ctx.baselineTrees,
      inputScale: Number(inputScale.toFixed(1)),
    };
    return plan;
  },
};
