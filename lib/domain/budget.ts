// Per-tree budgets: the most a request tree may spend (USD, rolled up over every counted model call) before
// Canopy kills it with reason `budget`. Set by CANOPY_TREE_BUDGET_USD (the default), per trace through
// POST /api/traces/:traceId/budget { maxCostUsd }, or by the attribute `canopy.budget.usd` on the root span
// or the resource. Shared by the server, the UI, the SDK and the simulator.

/** The attribute an agent sets on its root span (or its resource) to give its tree a budget. */
export const BUDGET_ATTRIBUTE = 'canopy.budget.usd';

export type BudgetSource = 'default' | 'api' | 'attribute';

export interface TreeBudget {
  maxCostUsd: number;
  /** Rolled-up spend so far, each model call counted once. */
  spentUsd: number;
  source: BudgetSource;
}

/** The largest budget accepted, in USD: anything above is a typo, not a budget. */
export const BUDGET_MAX_USD = 1_000_000;
