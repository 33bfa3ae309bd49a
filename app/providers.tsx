'use client';

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { ApiError } from '@/lib/client/fetch-json';

export function Providers({ children }: { children: ReactNode }) {
  // One client per browser session (created lazily so server renders never share one).
  const [client] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            staleTime: 1000,
            refetchOnWindowFocus: true,
            // A 4xx (bad id, missing API key) will not fix itself by retrying; the live hooks poll anyway.
            retry: (failureCount, err) => !(err instanceof ApiError && err.status < 500) && failureCount < 2,
          },
        },
      }),
  );
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}
