// The trace detail's query key and URLs, shared by the trace page's server component (which reads the first
// rows through the route handler and renders them into the page's HTML) and the client hook that keeps the
// detail live (use-trace.ts).

export const traceKey = (traceId: string) => ['trace', traceId] as const;

export const traceDetailUrl = (traceId: string) => `/api/traces/${encodeURIComponent(traceId)}`;

/**
 * Spans in the first answer of a page: four screens of rows (800 px), in its HTML. It costs the tree's order (every span's light
 * columns, no JSON) and these spans' JSON: a fraction of the whole detail's time and ~1/30 of its bytes at
 * 10,000 spans (scripts/measure-trace-page.ts).
 */
export const FIRST_ROWS = 100;

export const firstRowsUrl = (traceId: string) => `${traceDetailUrl(traceId)}?first=${FIRST_ROWS}`;
