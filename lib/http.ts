import 'server-only';

/** JSON error body every API route uses: `{ error: message }`. */
export function jsonError(status: number, message: string): Response {
  return Response.json({ error: message }, { status, headers: { 'cache-control': 'no-store' } });
}

export function json(body: unknown): Response {
  return Response.json(body, { headers: { 'cache-control': 'no-store' } });
}
