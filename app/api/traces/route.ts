import { z } from 'zod';
import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { decodeCursor, SORT_ORDERS, TRACE_SORTS } from '@/lib/server/queries/trace-list';
import { LIST_STATUSES, LIST_WITHIN, type ListWithin } from '@/lib/server/queries/trace-list-conditions';
import { listTracesFiltered, withProvisionalNames } from '@/lib/server/queries/trace-list-filters';
import { killHub } from '@/lib/server/kill-params';

export const dynamic = 'force-dynamic';

const params = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  service: z.string().max(256).default(''),
  q: z.string().max(256).default(''),
  sort: z.enum(TRACE_SORTS).default('activity'),
  order: z.enum(SORT_ORDERS).default('desc'),
  status: z.enum(LIST_STATUSES).optional(),
  alerts: z.enum(['open']).optional(),
  within: z.enum(Object.keys(LIST_WITHIN) as [ListWithin, ...ListWithin[]]).optional(),
});

export const GET = apiRoute(async (request: Request) => {
  const parsed = params.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) {
    return jsonError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const { limit, cursor, service, q, sort, order, status, alerts, within } = parsed.data;
  const decodedCursor = cursor ? decodeCursor(cursor) : null;
  if (cursor && !decodedCursor) return jsonError(400, 'cursor: not a cursor returned by this API');
  if (decodedCursor && (decodedCursor.sort !== sort || decodedCursor.order !== order)) {
    return jsonError(400, `cursor: it continues a list sorted by ${decodedCursor.sort} ${decodedCursor.order}, not ${sort} ${order}`);
  }
  const { client } = getRuntime().storage;
  // Killed trees from the kill hub's memory: no read more per page.
  const hub = killHub();
  const page = await listTracesFiltered(
    client,
    { limit, cursor: decodedCursor, service, q, sort, order },
    { status, openAlerts: alerts === 'open', within },
    (traceId) => hub?.isTreeKilled(traceId) ?? false,
    { signal: request.signal },
  );
  return json(await withProvisionalNames(client, page, { signal: request.signal }));
}, { heavy: true });
