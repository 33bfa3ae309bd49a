// The ids of the kill, revive, control and event requests, checked one way. No Next or storage imports: the
// control API is also answered before Next (lib/server/control-api.ts), in the custom server's own module graph.

// W3C trace context: ids are lowercase hex, and all zeros is the invalid id, never a real trace or span.
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZEROS = /^0+$/;

/** At most this many `ancestors`: a deeper tree sends the nearest ones (the URL stays a few KiB). */
export const MAX_ANCESTORS = 256;

export const TRACE_ID_ERROR = 'traceId must be 32 hexadecimal characters, not all zeros';
export const SPAN_ID_ERROR = 'spanId must be 16 hexadecimal characters, not all zeros';
export const HUB_STARTING_MESSAGE = 'Canopy is starting: kills are not loaded yet';

export function traceIdOf(raw: string): string | null {
  const id = raw.toLowerCase();
  return TRACE_ID.test(id) && !ZEROS.test(id) ? id : null;
}

export function spanIdOf(raw: string): string | null {
  const id = raw.toLowerCase();
  return SPAN_ID.test(id) && !ZEROS.test(id) ? id : null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** The optional `spanId` query parameter: absent or empty means the whole tree. */
export function spanIdParam(params: URLSearchParams): Parsed<string | null> {
  const raw = params.get('spanId');
  if (raw === null || raw === '') return { ok: true, value: null };
  const spanId = spanIdOf(raw);
  return spanId ? { ok: true, value: spanId } : { ok: false, error: SPAN_ID_ERROR };
}

/** `ancestors`: comma-separated span ids the caller knows above the span, nearest first. */
export function ancestorsParam(params: URLSearchParams): Parsed<string[]> {
  const raw = params.get('ancestors');
  if (raw === null || raw === '') return { ok: true, value: [] };
  const parts = raw.split(',');
  if (parts.length > MAX_ANCESTORS) return { ok: false, error: `ancestors: at most ${MAX_ANCESTORS} span ids` };
  const ids: string[] = [];
  for (const part of parts) {
    const id = spanIdOf(part.trim());
    if (!id) return { ok: false, error: `ancestors: "${part.slice(0, 40)}" is not a span id (16 hexadecimal characters)` };
    ids.push(id);
  }
  return { ok: true, value: ids };
}
