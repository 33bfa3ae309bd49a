import 'server-only';
import { jsonError } from './http';

// Small JSON bodies of the API's writes (ack, settings, backtest): bounded, parsed, or a 400/413 that says why.
const MAX_JSON_BYTES = 256 * 1024;

export async function readJsonBody(request: Request): Promise<{ ok: true; value: unknown } | { ok: false; response: Response }> {
  const type = request.headers.get('content-type') ?? '';
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_JSON_BYTES) return { ok: false, response: jsonError(413, `The body is larger than ${MAX_JSON_BYTES} bytes`) };
  if (text.trim() === '') return { ok: true, value: {} };
  if (type && !type.includes('json')) return { ok: false, response: jsonError(415, 'Send the body as application/json') };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, response: jsonError(400, `The body is not JSON: ${(err as Error).message}`) };
  }
}

/** A zod error as one line naming each field: "loop.consecutive: Number must be greater than or equal to 2". */
export function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ');
}
