import { z } from 'zod';
import { KILL_REASON_MAX_CHARS } from '@/lib/domain';
import { apiRoute, json, jsonError } from '@/lib/server/http';
import { issuesText, readJsonBody } from '@/lib/server/request-body';
import { HUB_STARTING, killHub, spanIdOf, spanParam, SPAN_ID_ERROR, traceIdOf, TRACE_ID_ERROR } from '@/lib/server/kill-params';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ traceId: string }> };

const body = z.strictObject({
  /** The root of the branch to kill; absent or null kills the whole tree. */
  spanId: z.string().nullable().optional(),
  reason: z.string().max(KILL_REASON_MAX_CHARS).optional(),
});

/**
 * Kills the whole tree, or the branch under `spanId`: agents asking the control API stop at their next check.
 * The trace need not have arrived yet (an agent can be stopped by id), nor the span (it may be running).
 */
export const POST = apiRoute(async (request: Request, context: Context) => {
  const traceId = traceIdOf((await context.params).traceId);
  if (!traceId) return jsonError(400, TRACE_ID_ERROR);
  const raw = await readJsonBody(request);
  if (!raw.ok) return raw.response;
  const parsed = body.safeParse(raw.value);
  if (!parsed.success) return jsonError(400, issuesText(parsed.error.issues));
  const spanId = parsed.data.spanId ? spanIdOf(parsed.data.spanId) : null;
  if (parsed.data.spanId && !spanId) return jsonError(400, SPAN_ID_ERROR);
  const hub = killHub();
  if (!hub) return HUB_STARTING();
  const reason = parsed.data.reason?.trim() || (spanId ? 'branch killed through the API' : 'tree killed through the API');
  const { kill } = await hub.kill({ traceId, spanId, reason, source: 'manual' });
  return json(kill);
}, { write: true });

/** Revives the tree (no `spanId`) or the branch under `spanId`: 404 when no such kill is in force. */
export const DELETE = apiRoute(async (request: Request, context: Context) => {
  const traceId = traceIdOf((await context.params).traceId);
  if (!traceId) return jsonError(400, TRACE_ID_ERROR);
  const span = spanParam(new URL(request.url).searchParams);
  if (!span.ok) return span.response;
  const hub = killHub();
  if (!hub) return HUB_STARTING();
  const revived = await hub.revive(traceId, span.spanId);
  if (!revived) return jsonError(404, span.spanId ? `No kill of span ${span.spanId} of trace ${traceId} is in force` : `No kill of trace ${traceId} is in force`);
  return json(revived);
}, { write: true });
