import { getRuntime } from '@/lib/runtime';
import { jsonError, jsonBytes } from '@/lib/http';
import { getTraceJson } from '@/lib/queries/traces';

export const dynamic = 'force-dynamic';

const TRACE_ID = /^[0-9a-f]{32}$/;

export async function GET(_request: Request, context: { params: Promise<{ traceId: string }> }): Promise<Response> {
  const traceId = (await context.params).traceId.toLowerCase();
  if (!TRACE_ID.test(traceId)) return jsonError(400, 'traceId must be 32 hexadecimal characters');
  const detail = await getTraceJson(getRuntime().storage.client, traceId);
  if (detail === null) return jsonError(404, `No trace ${traceId}`);
  return jsonBytes(detail);
}
