import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { SpendRange, SpendResponse } from '@/lib/domain/spend';
import { fetchJson, withQuery } from './fetch-json';

/** The last hour moves by the minute; the longer ranges by the bucket, so they are refreshed less often. */
const REFETCH_MS: Record<SpendRange, number> = { '1h': 15_000, '24h': 60_000, '7d': 120_000, '30d': 300_000 };

export function useSpend(range: SpendRange) {
  return useQuery({
    queryKey: ['spend', range],
    queryFn: ({ signal }) => fetchJson<SpendResponse>(withQuery('/api/spend', { range }), { signal }),
    refetchInterval: REFETCH_MS[range],
    // A new range keeps the old charts on screen (dimmed) until its numbers arrive.
    placeholderData: keepPreviousData,
  });
}
