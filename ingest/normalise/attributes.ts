// Reading decoded attributes, and flattening them into the string map the table stores.
import { setKey } from '../otlp/common';
import type { AttrValue, Attributes } from '../types';
import { DROPPED_ATTRIBUTES_KEY, MAX_ATTRIBUTES, MAX_NAME_CHARS, MAX_TOKENS, MAX_VALUE_CHARS, capText } from './limits';

export { MAX_VALUE_CHARS } from './limits';

/**
 * Every attribute as a string: strings as they are, anything else JSON-encoded; keys and values capped, and
 * past MAX_ATTRIBUTES the rest dropped and counted under DROPPED_ATTRIBUTES_KEY.
 */
export function flattenAttributes(attrs: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  let kept = 0;
  let dropped = 0;
  for (const key in attrs) {
    if (kept === MAX_ATTRIBUTES) {
      dropped++;
      continue;
    }
    setKey(out, capText(key, MAX_NAME_CHARS), valueText(attrs[key]));
    kept++;
  }
  if (dropped > 0) out[DROPPED_ATTRIBUTES_KEY] = String(dropped);
  return out;
}

export function valueText(v: AttrValue): string {
  if (typeof v === 'string') return capText(v, MAX_VALUE_CHARS);
  if (v === null) return '';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return capText(JSON.stringify(v), MAX_VALUE_CHARS);
}

/** The first of `keys` holding a non-empty string (numbers are accepted as their decimal form). */
export function firstString(a: Attributes, keys: readonly string[]): string {
  for (let i = 0; i < keys.length; i++) {
    const v = a[keys[i]];
    if (typeof v === 'string') {
      if (v !== '') return v;
    } else if (typeof v === 'number') return String(v);
  }
  return '';
}

/** The first of `keys` holding a token count, or -1 when none does: a non-negative integer, at most MAX_TOKENS. */
export function firstCount(a: Attributes, keys: readonly string[]): number {
  for (let i = 0; i < keys.length; i++) {
    const n = asNumber(a[keys[i]]);
    if (n >= 0) return n < MAX_TOKENS ? Math.trunc(n) : MAX_TOKENS;
  }
  return -1;
}

/** The first of `keys` holding a finite non-negative number (e.g. a cost), or -1. */
export function firstAmount(a: Attributes, keys: readonly string[]): number {
  for (let i = 0; i < keys.length; i++) {
    const n = asNumber(a[keys[i]]);
    if (n >= 0) return n;
  }
  return -1;
}

/** A finite non-negative number from a number or numeric string, else -1. */
function asNumber(v: AttrValue | undefined): number {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v : -1;
  if (typeof v === 'string' && v !== '') {
    const n = Number(v);
    return Number.isFinite(n) && n >= 0 ? n : -1;
  }
  return -1;
}

export function lowerString(a: Attributes, key: string): string {
  const v = a[key];
  return typeof v === 'string' ? v.toLowerCase() : '';
}
