import { getRuntime } from '@/lib/server/runtime';
import { apiRoute, jsonError, jsonBytes } from '@/lib/server/http';
import { getTraceJson } from '@/lib/server/queries/trace-detail';
import { getTraceIncrementJson } from '@/lib/server/queries/trace-increment';
import { getTraceHeadJson, MAX_FIRST } from '@/lib/server/queries/trace-head';
import { decodeDetailCursor } from '@/lib/server/queries/trace-cursor';
import { killHub } from '@/lib/server/kill-params';

export const dynamic = 'force-dynamic';

const TRACE_ID = /^[0-9a-f]{32}$/;
/** On a ClickHouse server several processes insert at once: an insert stamped this much before a read may land after it. */
const SERVER_SLACK_MS = 2000;

/**
 * `?since=<cursor>` (a previous answer's `cursor`): only what changed since, or the full detail when that is simpler.
 * `?first=N`: the first N spans of the tree only (`partial: true`), for a page's first rows.
 */
export const GET = apiRoute(async (request: Request, context: { params: Promise<{ traceId: string }> }) => {
  const traceId = (await context.params).traceId.toLowerCase();
  if (!TRACE_ID.test(traceId)) return jsonError(400, 'traceId must be 32 hexadecimal characters');
  const sinceParam = new URL(request.url).searchParams.get('since');
  const since = sinceParam ? decodeDetailCursor(sinceParam) : null;
  if (sinceParam && !since) return jsonError(400, 'since: not a cursor returned by this API');
  const firstParam = new URL(request.url).searchParams.get('first');
  const first = firstParam === null ? null : Number(firstParam);
  if (first !== null && !(Number.isInteger(first) && first >= 1 && first <= MAX_FIRST)) return jsonError(400, `first: an integer from 1 to ${MAX_FIRST}`);
  if (first !== null && since) return jsonError(400, 'first and since cannot be combined');
  const { storage, config, budgets } = getRuntime();
  const opts = { signal: request.signal, kills: killHub()?.killsOf(traceId), budget: budgets?.budgetOf(traceId) ?? null, slackMs: storage.backend === 'server' ? SERVER_SLACK_MS : 0 };
  const detail = since
    ? await getTraceIncrementJson(storage.client, traceId, since, config.traceMaxBytes, opts)
    : first !== null
      ? await getTraceHeadJson(storage.client, traceId, first, config.traceMaxBytes, opts)
      : await getTraceJson(storage.client, traceId, config.traceMaxBytes, opts);
  if (detail === null) return jsonError(404, `No trace ${traceId}`);
  return jsonBytes(detail);
}, { heavy: true });
