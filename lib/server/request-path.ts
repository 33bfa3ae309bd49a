/**
 * The one path every decision about a request is made on. The key check and the routing must see the
 * same path: if the gate tested the raw target while the router normalised it, `/./api/traces` or
 * `/_next/../api/health` would pass the gate as "not an API path" and reach the API. So a target that
 * is not already canonical (dot segments, encoded dots/slashes/backslashes, backslashes, empty
 * segments, anything but an origin-form path) is refused with 400 rather than guessed at; a canonical
 * one is decoded once, and that decoded path is what the gate and the router both use.
 */

export type RequestPath = { ok: true; path: string; query: string } | { ok: false; reason: string };

// Percent-escapes of '.', '/', '\' and NUL: each one lets a path mean something else once decoded.
const ENCODED_SEPARATOR = /%(2e|2f|5c|00)/i;

export function requestPath(target: string | undefined): RequestPath {
  const raw = target ?? '';
  if (!raw.startsWith('/') || raw.startsWith('//')) return { ok: false, reason: 'The request target must be a path starting with one "/"' };
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const query = q < 0 ? '' : raw.slice(q);
  if (rawPath.includes('\\') || rawPath.includes('#') || ENCODED_SEPARATOR.test(rawPath)) {
    return { ok: false, reason: 'The request path holds a backslash or an encoded ".", "/", "\\" or NUL' };
  }
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, reason: 'The request path is not valid percent-encoded UTF-8' };
  }
  const segments = path.split('/');
  // segments[0] is the empty string before the leading '/'; a trailing '/' leaves one more empty segment.
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i];
    if (s === '.' || s === '..') return { ok: false, reason: 'The request path holds "." or ".." segments' };
    if (s === '' && i < segments.length - 1) return { ok: false, reason: 'The request path holds an empty segment ("//")' };
  }
  return { ok: true, path, query };
}

// Compared case-insensitively and by prefix, so `/API/traces`, `/api.` or `/apix` are treated as
// protected too: refusing a few odd paths costs nothing, guessing how a router folds them could.
const PROTECTED_PREFIXES = ['/api', '/metrics', '/v1'];

/** With keys configured: everything but reading the UI's pages and assets needs the key. */
export function needsKey(method: string | undefined, path: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return true;
  const p = path.toLowerCase();
  return PROTECTED_PREFIXES.some((prefix) => p.startsWith(prefix));
}
