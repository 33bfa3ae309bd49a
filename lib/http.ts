import 'server-only';

/** JSON error body every API route uses: `{ error: message }`. */
export function jsonError(status: number, message: string): Response {
  return Response.json({ error: message }, { status, headers: { 'cache-control': 'no-store' } });
}

export function json(body: unknown): Response {
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}

/** A body that is already JSON text (built without a parse/stringify round trip). */
export function jsonText(text: string): Response {
  return new Response(text, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}
