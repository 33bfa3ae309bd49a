import 'server-only';
import { getRuntime } from './runtime';
import { ReadsBusyError } from './read-gate';
import { refuseForeignWrite } from './write-guard';

/** JSON error body every API route uses: `{ error: message }`. */
export function jsonError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: message }, { status, headers: { 'cache-control': 'no-store', ...headers } });
}

export function json(body: unknown): Response {
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}

/** A body that is already UTF-8 JSON (built without a parse/stringify round trip). */
export function jsonBytes(body: Buffer): Response {
  // A Buffer's memory is a plain ArrayBuffer (never shared); the view only narrows the type for BodyInit.
  const bytes = new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength);
  return new Response(bytes, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}

type Handler<C> = (request: Request, context: C) => Promise<Response> | Response;

/**
 * Every API route goes through this, so every failure is `{ error }` JSON with a status a client can act
 * on: a busy server or a storage failure is a 503 with Retry-After (never a bare 500), and a heavy read
 * (`heavy`) waits for a slot of the read gate, which bounds the memory concurrent reads can take. A `write`
 * (it changes state) is refused when a web page could have sent it (lib/server/write-guard.ts).
 */
export function apiRoute<C>(handler: Handler<C>, opts: { heavy?: boolean; write?: boolean } = {}): (request: Request, context: C) => Promise<Response> {
  return async (request, context) => {
    try {
      const refusal = opts.write ? refuseForeignWrite(request, getRuntime().config) : null;
      if (refusal) return jsonError(refusal.status, refusal.message);
      const run = async () => handler(request, context);
      return await (opts.heavy ? getRuntime().reads.run(run) : run());
    } catch (err) {
      return errorResponse(err, request);
    }
  };
}

// Error codes of the engine that mean "this read was too big or too slow", not "storage is broken".
const TIME_LIMIT = new Set(['159', '160']); // TIMEOUT_EXCEEDED, TOO_SLOW
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

function errorResponse(err: unknown, request: Request): Response {
  if (ReadsBusyError.is(err)) return jsonError(503, err.message, { 'retry-after': String(err.retryAfterSeconds) });
  // The client went away: nobody reads this answer, but it must not count as a server failure.
  if (request.signal.aborted) return jsonError(499, 'The client closed the request');
  const e = err as { code?: unknown; type?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message.split('\n')[0].slice(0, 500) : String(err);
  if (TIME_LIMIT.has(code)) return jsonError(503, `The query took too long and was stopped: ${message}`, { 'retry-after': '5' });
  if (typeof e?.type === 'string' || /^\d+$/.test(code) || NETWORK.has(code)) {
    return jsonError(503, `Storage could not answer: ${message}`, { 'retry-after': '5' });
  }
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), event: 'api_failed', path: new URL(request.url).pathname, error: err instanceof Error ? err.stack : String(err) }) + '\n');
  return jsonError(500, 'Internal error; the server log has the details');
}
