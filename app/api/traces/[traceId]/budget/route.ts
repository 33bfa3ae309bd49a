import { z } from 'zod';
import { BUDGET_MAX_USD } from '@/lib/domain';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { issuesText, readJsonBody } from '@/lib/server/request-body';
import { traceIdOf, TRACE_ID_ERROR } from '@/lib/server/kill-params';
import { getRuntime } from '@/lib/server/runtime';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ traceId: string }> };

const body = z.strictObject({
  /** USD the tree may spend (each model call counted once); null removes a budget set here. */
  maxCostUsd: z.number().positive().max(BUDGET_MAX_USD).nullable(),
});

/**
 * Sets a tree's budget: past it, Canopy kills the tree with reason `budget` and raises a `budget` alert. Wins
 * over the attribute canopy.budget.usd and the default. The trace need not have arrived yet. Answers with the
 * budget now in force (`null` when none), with the spend the detector last saw.
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const traceId = traceIdOf((await context.params).traceId);
  if (!traceId) return jsonError(400, TRACE_ID_ERROR);
  const raw = await readJsonBody(request);
  if (!raw.ok) return raw.response;
  const parsed = body.safeParse(raw.value);
  if (!parsed.success) return jsonError(400, issuesText(parsed.error.issues));
  const book = getRuntime().budgets;
  if (!book) return jsonError(503, 'Canopy is starting; retry in a moment', { 'retry-after': '1' });
  return json({ traceId, budget: await book.setBudget(traceId, parsed.data.maxCostUsd) });
}, { write: true });
