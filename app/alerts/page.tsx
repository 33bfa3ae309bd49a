import type { Metadata } from 'next';
import { Suspense } from 'react';
import { AlertsPage } from '@/components/alerts/alerts-page';

export const metadata: Metadata = { title: 'Alerts' };

export default function Page() {
  // The filters come from the URL (useSearchParams), so the page renders below a Suspense boundary.
  return (
    <Suspense fallback={<div className="page panel loading-state">Loading alerts…</div>}>
      <AlertsPage />
    </Suspense>
  );
}
