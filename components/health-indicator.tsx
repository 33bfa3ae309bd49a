'use client';

import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiError } from '@/lib/client/fetch-json';
import { setApiKey } from '@/lib/client/api-key';
import { useHealth } from '@/lib/client/use-health';

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
  if (error instanceof ApiError && error.status === 401) return <ApiKeyForm />;
  // /api/health answers 503 when storage cannot write: the API reads fine, but exports are being refused.
  if (error instanceof ApiError && error.status === 503) {
    return (
      <span className="health" data-health="storage-unwritable" title={error.message}>
        <span className="dot dot-error" aria-hidden="true" />
        Storage cannot write
      </span>
    );
  }
  if (error) {
    return (
      <span className="health" data-health="error" title={error.message}>
        <span className="dot dot-error" aria-hidden="true" />
        API unavailable
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

/** Canopy runs with CANOPY_API_KEYS: ask for a key once, remember it in this browser, refetch everything. */
function ApiKeyForm() {
  const queryClient = useQueryClient();
  const [value, setValue] = useState('');
  return (
    <form
      className="health api-key-form"
      data-health="unauthorised"
      onSubmit={(e) => {
        e.preventDefault();
        setApiKey(value.trim() || null);
        void queryClient.invalidateQueries();
      }}
    >
      <span className="dot dot-error" aria-hidden="true" />
      <label>
        API key required{' '}
        <input type="password" autoComplete="off" placeholder="key" value={value} onChange={(e) => setValue(e.target.value)} aria-label="API key" />
      </label>
      <button type="submit">Use key</button>
    </form>
  );
}
