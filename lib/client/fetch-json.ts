// Tiny fetch helper shared by the data hooks: JSON in, JSON out, and a thrown Error carrying the
// API's own message on any non-2xx response (so the UI can show *why* a request failed).

import { getApiKey } from './api-key';

export class ApiError extends Error {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** Pulls a human-readable message out of the common JSON error shapes. */
function messageFrom(body: unknown): string | null {
  if (typeof body === 'string') return body.trim() || null;
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  if (typeof b.error === 'string' && b.error) return b.error;
  if (b.error && typeof b.error === 'object') {
    const m = (b.error as Record<string, unknown>).message;
    if (typeof m === 'string' && m) return m;
  }
  if (typeof b.message === 'string' && b.message) return b.message;
  return null;
}

/** `read` turns a 2xx response into the value (default: its JSON). */
export async function fetchJson<T>(url: string, init?: RequestInit, read: (res: Response) => Promise<T> = (res) => res.json() as Promise<T>): Promise<T> {
  const apiKey = getApiKey();
  const res = await fetch(url, {
    ...init,
    headers: { accept: 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}), ...init?.headers },
    cache: 'no-store',
  });
  if (!res.ok) {
    let message: string | null = null;
    try {
      const text = await res.text();
      try {
        message = messageFrom(JSON.parse(text));
      } catch {
        // Plain-text errors are useful; an HTML error page is not.
        if (!text.trimStart().startsWith('<')) message = messageFrom(text.slice(0, 300));
      }
    } catch {
      // body unreadable: fall back to the status line
    }
    throw new ApiError(message ?? `${res.status} ${res.statusText || 'request failed'}`.trim(), res.status);
  }
  return read(res);
}

/** Builds `path?k=v` skipping empty values. */
export function withQuery(path: string, params: Record<string, string | number | null | undefined>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === null || v === undefined || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}
