import type { Metadata } from 'next';
import { dehydrate, HydrationBoundary, QueryClient } from '@tanstack/react-query';
import { GET as readTraceRoute } from '@/app/api/traces/[traceId]/route';
import { TraceView } from '@/components/trace-view';
import { firstRowsUrl, traceKey } from '@/lib/client/trace-urls';
import { getRuntime } from '@/lib/server/runtime';
import type { TraceDetailResponse } from '@/lib/domain';

type Props = { params: Promise<{ traceId: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { traceId } = await params;
  return { title: `Trace ${traceId.slice(0, 12)}` };
}

export default async function TracePage({ params }: Props) {
  const { traceId } = await params;
  // The first rows come in the page's HTML, read through the route handler and rendered here, so they show before
  // the page's scripts have loaded and run (~1 s on a busy 2-core machine, scripts/measure-trace-page.ts); the
  // scripts then take over the same rows and read the rest of the tree. Not behind a Suspense boundary: React
  // reveals a streamed boundary on a later frame, throttled, which put the rows ~0.3 s after their HTML arrived.
  const head = await firstRows(traceId);
  const client = new QueryClient();
  if (head) client.setQueryData(traceKey(traceId), head);
  // Keyed so tree state (collapsed branches, selection) never leaks from one trace to the next.
  return (
    <HydrationBoundary state={dehydrate(client)}>
      <TraceView key={traceId} traceId={traceId} renderedAt={Date.now()} />
    </HydrationBoundary>
  );
}

/**
 * The first rows as the API answers them, read through its route handler (its checks, read gate and JSON);
 * null when there are none to show yet (a malformed or unknown trace id, a busy or failing read): the page then
 * reads them itself, and says why. Null too when API keys are required: a page is served without the key (a
 * browser's navigation carries none), so its HTML must hold no span; the page's scripts read them with the key.
 */
async function firstRows(traceId: string): Promise<TraceDetailResponse | null> {
  if (getRuntime().config.apiKeys.length > 0) return null;
  try {
    const res = await readTraceRoute(new Request(new URL(firstRowsUrl(traceId), 'http://localhost')), { params: Promise.resolve({ traceId }) });
    return res.ok ? ((await res.json()) as TraceDetailResponse) : null;
  } catch {
    return null;
  }
}
