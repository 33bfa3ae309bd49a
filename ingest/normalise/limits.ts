// Every bound a stored span obeys, in one place so the README can state them. A row is read back whole by
// the API (a 10 MiB span name once took the process to its heap limit), and every number is summed over
// trees and emitted as JSON, so each string is capped and each number kept finite at ingest.

/** Names and identifiers (span, service, scope, model, provider, agent, tool, session, user, error type,
 * attribute keys), in UTF-16 code units, marker included. */
export const MAX_NAME_CHARS = 1024;

/** Attribute values and the status message: prompts and stack traces can be megabytes. */
export const MAX_VALUE_CHARS = 32 * 1024;

/** Attributes kept per span (and per resource); the rest are dropped and counted in DROPPED_ATTRIBUTES_KEY.
 * OTel SDKs default to 128, so this only bites on hostile or broken senders. */
export const MAX_ATTRIBUTES = 1000;
export const DROPPED_ATTRIBUTES_KEY = 'canopy.dropped_attributes';

/**
 * Token counts above this (per field) are clamped to it. 10^10 is ~1,000× the largest context window, and
 * keeps any sum in the UInt64 columns and in JS numbers exact over ~900,000 spans at the maximum.
 */
export const MAX_TOKENS = 1e10;

/**
 * Largest cost in USD one span may carry. An explicit cost above it (e.g. llm.cost.total = 1e300, whose sums
 * overflowed to Infinity) is ignored and the price table used instead; a table price above it (an absurd
 * CANOPY_PRICES_FILE) leaves the span unpriced. Sums over any tree then stay finite.
 */
export const MAX_COST_USD = 1_000_000;

/** `s` cut to at most `max` UTF-16 code units, ending in a marker saying how much was cut. */
export function capText(s: string, max: number): string {
  return s.length > max ? truncate(s, max) : s;
}

function truncate(s: string, max: number): string {
  const marker = `…[truncated ${s.length - max} of ${s.length} chars]`;
  let cut = max - marker.length;
  // Never split a surrogate pair: a lone surrogate makes ClickHouse reject the whole insert.
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return s.slice(0, cut) + marker;
}
