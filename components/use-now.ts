'use client';

import { useEffect, useState } from 'react';

/**
 * Current time, re-read every `intervalMs`, so relative timestamps ("12s ago") keep moving. `renderedAt`: the
 * time a server render used, taken first so the HTML it sent and the page's first render agree (hydration);
 * the clock is read as soon as the page runs.
 */
export function useNow(intervalMs = 5000, renderedAt?: number): number {
  const [now, setNow] = useState(() => renderedAt ?? Date.now());
  useEffect(() => {
    if (renderedAt !== undefined) setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(id);
  }, [intervalMs, renderedAt]);
  return now;
}

/** `value`, but only after it has stopped changing for `delayMs`. */
export function useDebounced<T>(value: T, delayMs = 300): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setDebounced(value), delayMs);
    return () => clearTimeout(id);
  }, [value, delayMs]);
  return debounced;
}
