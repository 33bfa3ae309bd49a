import type { Metadata } from 'next';
import { Suspense } from 'react';
import { SpendPage } from '@/components/spend/spend-page';

export const metadata: Metadata = { title: 'Spend' };

export default function Page() {
  // Range and breakdown come from the URL (useSearchParams), so the page renders below a Suspense boundary.
  return (
    <Suspense fallback={<div className="page panel loading-state">Loading spend…</div>}>
      <SpendPage />
    </Suspense>
  );
}
