import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, jsonError, jsonBytes } from '@/lib/server/http';
import { getTraceJson } from '@/lib/server/queries/trace-detail';
import { killHub } from '@/lib/server/kill-params';

export const dynamic = 'force-dynamic';

const TRACE_ID = /^[0-9a-f]{32}$/;

export const GET = apiRoute(async (request: Request, context: { params: Promise<{ traceId: string }> }) => {
  const traceId = (await context.params).traceId.toLowerCase();
  if (!TRACE_ID.test(traceId)) return jsonError(400, 'traceId must be 32 hexadecimal characters');
  const { storage, config, budgets } = getRuntime();
  const detail = await getTraceJson(storage.client, traceId, config.traceMaxBytes, { signal: request.signal, kills: killHub()?.killsOf(traceId), budget: budgets?.budgetOf(traceId) ?? null });
  if (detail === null) return jsonError(404, `No trace ${traceId}`);
  return jsonBytes(detail);
}, { heavy: true });
