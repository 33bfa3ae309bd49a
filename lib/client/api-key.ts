// The API key a user typed into the UI when Canopy runs with CANOPY_API_KEYS. Kept in this browser's
// localStorage and sent as a bearer token by fetchJson; never put in a URL.

const KEY = 'canopy.apiKey';

export function getApiKey(): string | null {
  if (typeof window === 'undefined') return null;
  try {
    return window.localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setApiKey(value: string | null): void {
  try {
    if (value) window.localStorage.setItem(KEY, value);
    else window.localStorage.removeItem(KEY);
  } catch {
    // storage disabled: the key simply is not remembered
  }
}
