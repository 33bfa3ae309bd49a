import { z } from 'zod';
import { ALERT_RULES, ALERT_SEVERITIES, ALERT_STATUSES } from '@/lib/domain';
import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { issuesText } from '@/lib/server/request-body';
import { decodeAlertCursor, listAlerts } from '@/lib/server/queries/alerts';

export const dynamic = 'force-dynamic';

const params = z.strictObject({
  traceId: z.string().regex(/^[0-9a-fA-F]{32}$/, 'must be 32 hexadecimal characters').transform((s) => s.toLowerCase()).optional(),
  rule: z.enum(ALERT_RULES).optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  status: z.enum(ALERT_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});

export const GET = apiRoute(async (request: Request) => {
  const parsed = params.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) return jsonError(400, issuesText(parsed.error.issues));
  const { cursor, ...q } = parsed.data;
  const decoded = cursor ? decodeAlertCursor(cursor) : null;
  if (cursor && !decoded) return jsonError(400, 'cursor: not a cursor returned by this API');
  return json(await listAlerts(getRuntime().storage.client, { ...q, cursor: decoded }, { signal: request.signal }));
});
