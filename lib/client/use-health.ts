import { useQuery } from '@tanstack/react-query';
import type { HealthResponse } from '@/lib/domain';
import { fetchJson } from './fetch-json';

export function useHealth() {
  return useQuery({
    queryKey: ['health'],
    queryFn: ({ signal }) => fetchJson<HealthResponse>('/api/health', { signal }),
    refetchInterval: 10_000,
  });
}
