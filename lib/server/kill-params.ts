import 'server-only';
import { getRuntime } from './runtime';
import { jsonError } from './http';
import type { KillHub } from './kill-hub';
import { HUB_STARTING_MESSAGE, spanIdParam } from './kill-ids';

// What the kill, revive and event routes share: their ids (lib/server/kill-ids.ts) and the kill hub.

export { spanIdOf, traceIdOf, SPAN_ID_ERROR, TRACE_ID_ERROR } from './kill-ids';

/** The optional `spanId` query parameter (absent or empty: the whole tree), or the 400 that says why not. */
export function spanParam(params: URLSearchParams): { ok: true; spanId: string | null } | { ok: false; response: Response } {
  const parsed = spanIdParam(params);
  return parsed.ok ? { ok: true, spanId: parsed.value } : { ok: false, response: jsonError(400, parsed.error) };
}

/** The kill hub, or null while Canopy is still starting (the routes answer 503). */
export function killHub(): KillHub | null {
  return getRuntime().kills ?? null;
}

export const HUB_STARTING = () => jsonError(503, HUB_STARTING_MESSAGE, { 'retry-after': '1' });
