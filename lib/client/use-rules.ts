import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { DetectorSettings } from '@/detector/settings';
import type { BacktestResult } from '@/detector/backtest';
import { fetchJson } from './fetch-json';

export type { BacktestResult, DetectorSettings };

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const WEEK_MS = 7 * 24 * 3600_000;

/** The detector's rule settings in force (thresholds and auto-kill policies), every field present. */
export function useRules() {
  return useQuery({
    queryKey: ['detector-rules'],
    queryFn: ({ signal }) => fetchJson<DetectorSettings>('/api/detector/rules', { signal }),
    // A draft is being edited against these: no refetch under the user's hands.
    refetchOnWindowFocus: false,
  });
}

/** Replaces the settings (the detector applies them on its next tick); a 400 names the field. */
export function useSaveRules() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (settings: DetectorSettings) => fetchJson<DetectorSettings>('/api/detector/rules', { method: 'PUT', headers: JSON_HEADERS, body: JSON.stringify(settings) }),
    onSuccess: (saved) => client.setQueryData(['detector-rules'], saved),
  });
}

/** Proposed settings replayed over last week's stored trees, against those in force. Creates no alerts. */
export function useBacktest() {
  return useMutation({
    mutationFn: (rules: DetectorSettings) =>
      fetchJson<BacktestResult>('/api/detector/backtest', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ rules, since: Date.now() - WEEK_MS }) }),
  });
}
