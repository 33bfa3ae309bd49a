// Reading decoded attributes, and flattening them into the string map the table stores.
import { setKey } from '../otlp/common';
import type { AttrValue, Attributes } from '../types';

/** Longest stored attribute value, in UTF-16 code units, marker included. Prompts can be megabytes. */
export const MAX_VALUE_CHARS = 32 * 1024;

/** Every attribute as a string: strings as they are, anything else JSON-encoded, long values capped. */
export function flattenAttributes(attrs: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in attrs) setKey(out, key, valueText(attrs[key]));
  return out;
}

export function valueText(v: AttrValue): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v === null) return '';
  else if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  else s = JSON.stringify(v);
  return s.length > MAX_VALUE_CHARS ? truncate(s) : s;
}

function truncate(s: string): string {
  const marker = `…[truncated ${s.length - MAX_VALUE_CHARS} of ${s.length} chars]`;
  let cut = MAX_VALUE_CHARS - marker.length;
  // Never split a surrogate pair: a lone surrogate makes ClickHouse reject the whole insert.
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return s.slice(0, cut) + marker;
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

/** The first of `keys` holding a token count, or -1 when none does. Counts are non-negative integers. */
export function firstCount(a: Attributes, keys: readonly string[]): number {
  for (let i = 0; i < keys.length; i++) {
    const n = asNumber(a[keys[i]]);
    if (n >= 0) return n < Number.MAX_SAFE_INTEGER ? Math.trunc(n) : Number.MAX_SAFE_INTEGER;
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
