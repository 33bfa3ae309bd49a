// The budget check: a tree whose spend (each model call counted once) passed its budget — set through the API,
// by the attribute canopy.budget.usd, or by default (lib/domain/budget.ts) — is a critical `budget` finding on
// the whole tree. It goes the detector's alert path (stored, webhook) and its auto-kill policy, by default
// enforcing a kill of the tree. Not a rule of detector/rules/: it judges no shape, and needs no history.
import type { BudgetSource, Finding } from '../lib/domain';
import { usd } from './rule';

export interface TreeBudgetCheck {
  costUsd: number;
  rootSpanId: string;
  modelCalls: number;
  maxCostUsd: number;
  source: BudgetSource;
}

const SOURCES: Record<BudgetSource, string> = { api: 'set through the API', attribute: 'set by canopy.budget.usd', default: 'the default (CANOPY_TREE_BUDGET_USD)' };

export function budgetFinding(c: TreeBudgetCheck): Finding<'budget'> | null {
  if (!(c.costUsd > c.maxCostUsd) || !c.rootSpanId) return null;
  return {
    rule: 'budget',
    severity: 'critical',
    spanId: c.rootSpanId,
    title: `Tree spent ${usd(c.costUsd)}, past its ${usd(c.maxCostUsd)} budget (${SOURCES[c.source]})`,
    evidence: {
      spanIds: [],
      spanCount: c.modelCalls,
      metric: 'spend (USD)',
      value: c.costUsd,
      warningAt: c.maxCostUsd,
      criticalAt: c.maxCostUsd,
      names: [],
      baseline: null,
      details: { scope: 'tree', maxCostUsd: c.maxCostUsd, source: c.source, modelCalls: c.modelCalls },
    },
  };
}
