import { useQuery } from '@tanstack/react-query';
import type { SettingsFacts } from '@/lib/domain/settings-facts';
import { fetchJson } from './fetch-json';

/** What this Canopy runs with; refreshed now and then for the webhook's record. */
export function useSettingsFacts() {
  return useQuery({
    queryKey: ['settings'],
    queryFn: ({ signal }) => fetchJson<SettingsFacts>('/api/settings', { signal }),
    refetchInterval: 15_000,
  });
}
