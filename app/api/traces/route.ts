import { z } from 'zod';
import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { decodeCursor, listTraces, SORT_ORDERS, TRACE_SORTS } from '@/lib/server/queries/trace-list';
import { killHub } from '@/lib/server/kill-params';
import { killedSummary } from '@/lib/domain';

export const dynamic = 'force-dynamic';

const params = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
  service: z.string().max(256).default(''),
  q: z.string().max(256).default(''),
  sort: z.enum(TRACE_SORTS).default('activity'),
  order: z.enum(SORT_ORDERS).default('desc'),
});

export const GET = apiRoute(async (request: Request) => {
  const parsed = params.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!parsed.success) {
    return jsonError(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const { limit, cursor, service, q, sort, order } = parsed.data;
  const decodedCursor = cursor ? decodeCursor(cursor) : null;
  if (cursor && !decodedCursor) return jsonError(400, 'cursor: not a cursor returned by this API');
  if (decodedCursor && (decodedCursor.sort !== sort || decodedCursor.order !== order)) {
    return jsonError(400, `cursor: it continues a list sorted by ${decodedCursor.sort} ${decodedCursor.order}, not ${sort} ${order}`);
  }
  const page = await listTraces(getRuntime().storage.client, { limit, cursor: decodedCursor, service, q, sort, order }, { signal: request.signal });
  // Killed trees from the kill hub's memory: no read more per page.
  const hub = killHub();
  return json(hub ? { ...page, traces: page.traces.map((t) => (hub.isTreeKilled(t.traceId) ? killedSummary(t) : t)) } : page);
}, { heavy: true });
