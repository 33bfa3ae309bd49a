'use client';

import { ApiError } from '@/lib/hooks/fetch-json';
import { useHealth } from '@/lib/hooks/use-health';

const STORAGE_LABEL: Record<string, string> = {
  embedded: 'Embedded storage',
  server: 'ClickHouse server',
};

export function HealthIndicator() {
  const { data, error, isPending } = useHealth();

  if (isPending) {
    return (
      <span className="health" data-health="pending">
        <span className="dot dot-pending" aria-hidden="true" />
        Connecting…
      </span>
    );
  }
  if (error) {
    return (
      <span className="health" data-health="error" title={error.message}>
        <span className="dot dot-error" aria-hidden="true" />
        {error instanceof ApiError && error.status === 401 ? 'API key required' : 'API unavailable'}
      </span>
    );
  }
  return (
    <span
      className="health"
      data-health="ok"
      data-storage={data.storage}
      title={`Storage: ${data.storage} · Canopy ${data.version}`}
    >
      <span className="dot dot-ok" aria-hidden="true" />
      {STORAGE_LABEL[data.storage] ?? data.storage}
      <span className="muted">v{data.version}</span>
    </span>
  );
}
