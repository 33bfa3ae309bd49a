import { Suspense } from 'react';
import { TraceList } from '@/components/trace-list';

export default function HomePage() {
  // TraceList reads the URL's filters (useSearchParams), so it renders below a Suspense boundary.
  return (
    <Suspense fallback={<div className="page panel loading-state">Loading traces…</div>}>
      <TraceList />
    </Suspense>
  );
}
