import 'server-only';

/** JSON error body every API route uses: `{ error: message }`. */
export function jsonError(status: number, message: string): Response {
  return Response.json({ error: message }, { status, headers: { 'cache-control': 'no-store' } });
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
