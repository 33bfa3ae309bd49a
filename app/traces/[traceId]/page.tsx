import type { Metadata } from 'next';
import { TraceView } from '@/components/trace-view';

type Props = { params: Promise<{ traceId: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { traceId } = await params;
  return { title: `Trace ${traceId.slice(0, 12)}` };
}

export default async function TracePage({ params }: Props) {
  const { traceId } = await params;
  // Keyed so tree state (collapsed branches, selection) never leaks from one trace to the next.
  return <TraceView key={traceId} traceId={traceId} />;
}
