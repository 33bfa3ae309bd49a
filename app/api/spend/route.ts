import { z } from 'zod';
import { SPEND_RANGES, SPEND_TOP_DEFAULT, SPEND_TOP_MAX } from '@/lib/domain/spend';
import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { issuesText } from '@/lib/server/request-body';
import { spendOverview } from '@/lib/server/queries/spend';

export const dynamic = 'force-dynamic';

const params = z.strictObject({
  range: z.enum(SPEND_RANGES).default('24h'),
  /** Series per dimension before the rest are summed as "other". */
  top: z.coerce.number().int().min(1).max(SPEND_TOP_MAX).default(SPEND_TOP_DEFAULT),
});

/** Spend and tokens over time by model, service and root name, the top trees and the kills of the range. */
export const GET = apiRoute(async (request: Request) => {
  const parsed = params.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return jsonError(400, issuesText(parsed.error.issues));
  const { range, top } = parsed.data;
  return json(await spendOverview(getRuntime().storage.client, { range, top, nowMs: Date.now() }, { signal: request.signal }));
}, { heavy: true });
