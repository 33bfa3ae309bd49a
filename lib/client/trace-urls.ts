// The trace detail's query key and URLs, shared by the trace page's server component (which reads the first
// rows through the route handler and renders them into the page's HTML) and the client hook that keeps the
// detail live (use-trace.ts).

export const traceKey = (traceId: string) => ['trace', traceId] as const;

export const traceDetailUrl = (traceId: string) => `/api/traces/${encodeURIComponent(traceId)}`;

/**
 * Spans in the first answer of a page, in its HTML: a screen and a half of rows at 800 px. 40 rather than 100
 * halved the time from the HTML to the drawn rows of a 10,000-span tree (less HTML to parse, fewer rows to lay
 * out and hydrate before the first paint; scripts/measure-trace-page.ts: median 898 → 552 ms). It costs the
 * tree's order (every span's light columns, no JSON) and these spans' JSON.
 */
export const FIRST_ROWS = 40;

export const firstRowsUrl = (traceId: string) => `${traceDetailUrl(traceId)}?first=${FIRST_ROWS}`;
