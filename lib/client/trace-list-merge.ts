// How the live list folds a fresh first page into the pages it holds (lib/client/use-traces.ts): only the first
// page is read again every couple of seconds; pages loaded further down stay as they were read. Pure, unit-tested.
import type { TraceListResponse, TraceSummary } from '@/lib/domain';

/**
 * The pages with `head` (a fresh read of the first page) in place of the first. With one page loaded the head
 * simply replaces it, its cursor included ("Load more" continues from the fresh list). With more loaded, the
 * first page's traces that fell out of the head and are on no later page (newer traces pushed them down) stay
 * after the head's, so no trace vanishes from between the pages; the later pages' cursors are unchanged.
 */
export function mergeHead(pages: readonly TraceListResponse[], head: TraceListResponse): TraceListResponse[] {
  if (pages.length <= 1) return [head];
  const later = pages.slice(1);
  const shown = new Set(head.traces.map((t) => t.traceId));
  for (const p of later) for (const t of p.traces) shown.add(t.traceId);
  const leftovers = pages[0].traces.filter((t) => !shown.has(t.traceId));
  return [{ traces: [...head.traces, ...leftovers], nextCursor: pages[0].nextCursor }, ...later];
}

/** Every trace of the pages once, at its first place (a fresher copy comes first: the head, then the page above). */
export function flattenPages(pages: readonly TraceListResponse[]): TraceSummary[] {
  const seen = new Set<string>();
  const out: TraceSummary[] = [];
  for (const page of pages) {
    for (const t of page.traces) {
      if (seen.has(t.traceId)) continue;
      seen.add(t.traceId);
      out.push(t);
    }
  }
  return out;
}
