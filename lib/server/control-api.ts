import type http from 'node:http';
import { getRuntime } from './runtime';
import { ancestorsParam, HUB_STARTING_MESSAGE, spanIdParam, traceIdOf, TRACE_ID_ERROR } from './kill-ids';
import type { ControlAnswer } from '../domain';

// GET /api/control/:traceId?spanId=&ancestors= — may this tree, or this span, go on? `{ killed, scope, reason,
// killedAt, killedSpanId, budget }`. On every running agent's hot path, so it is answered here, by the custom
// server before Next: as a Next route handler, 1,000 calls sent 200 at a time took p50 465 / p99 1,136 ms
// (sequential p50 5.3 ms); answered here, p50 96 / p99 310 ms (sequential 1.2 ms), both measured by
// tests/kill.test.ts on the busy 2-core test machine. A call is a map lookup in the kill hub (no query unless the
// trace has branch kills) and a small JSON write. The key check and the path check have run already
// (lib/server/http-servers.ts).

const CONTROL = /^\/api\/control\/([^/]+)$/;
const HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

/** Answers a control request and returns true; false for any other request (Next serves it). */
export function serveControl(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: string): boolean {
  if (req.method !== 'GET') return false;
  const match = CONTROL.exec(path);
  // `events` is the push stream, a Next route.
  if (!match || match[1] === 'events') return false;
  req.resume();
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { ...HEADERS, ...headers });
    res.end(JSON.stringify(body));
  };
  const traceId = traceIdOf(match[1]);
  if (!traceId) return send(400, { error: TRACE_ID_ERROR }), true;
  const params = new URLSearchParams(query);
  const span = spanIdParam(params);
  if (!span.ok) return send(400, { error: span.error }), true;
  const ancestors = ancestorsParam(params);
  if (!ancestors.ok) return send(400, { error: ancestors.error }), true;
  const hub = getRuntime().kills;
  if (!hub) return send(503, { error: HUB_STARTING_MESSAGE }, { 'retry-after': '1' }), true;
  const answer = hub.control(traceId, span.value, ancestors.value);
  const book = getRuntime().budgets;
  const withBudget = (a: ControlAnswer): ControlAnswer => {
    const b = book?.budgetOf(traceId);
    return b ? { ...a, budget: { maxCostUsd: b.maxCostUsd, spentUsd: b.spentUsd } } : a;
  };
  if (!(answer instanceof Promise)) return send(200, withBudget(answer)), true;
  answer.then(
    (a: ControlAnswer) => send(200, withBudget(a)),
    () => send(503, { error: 'Storage could not answer; retry' }, { 'retry-after': '1' }),
  );
  return true;
}
