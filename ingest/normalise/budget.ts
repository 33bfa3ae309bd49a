import { BUDGET_ATTRIBUTE, BUDGET_MAX_USD } from '../../lib/domain/budget';
import type { Attributes } from '../types';

/**
 * canopy.budget.usd as a number of USD (a number, or a string holding one); null when absent or not a usable
 * amount (zero, negative, not finite, past BUDGET_MAX_USD): a typo must never kill a tree at once.
 */
export function readBudget(a: Attributes): number | null {
  const v = a[BUDGET_ATTRIBUTE];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 && n <= BUDGET_MAX_USD ? n : null;
}
