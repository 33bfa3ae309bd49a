// Span times as the table can take them.
//
// A DateTime64(9) column parses a JSONEachRow string of digits heuristically, and differently under
// date_time_input_format basic (the embedded engine's default) and best_effort (what the server client
// sets): "0" and many values below 2001 fail the WHOLE insert, others land at the wrong instant. A
// 19-digit zero-padded nanosecond string is read exactly under best_effort for every value, and under
// basic for every value from 1e12 ns (1970-01-01T00:16:40Z) up. Earlier times are not real clock
// readings (unset or broken clocks), so they are stored as the epoch; later than DateTime64(9) can
// hold (2262-04-11) is clamped to its maximum. tests/unit/rows-insert.test.ts checks both settings.

const INT64_MAX = '9223372036854775807';
const EPOCH = '0000000000000000000';
const DIGITS_RE = /^\d+$/;

/** Unix nanoseconds (decimal string) → the zero-padded 19-digit form the spans table parses exactly. */
export function storageNanos(ns: string): string {
  if (!DIGITS_RE.test(ns)) return EPOCH;
  let s = ns;
  if (s.length > 1 && s.charCodeAt(0) === 48) {
    let i = 0;
    while (i < s.length - 1 && s.charCodeAt(i) === 48) i++;
    s = s.slice(i);
  }
  if (s.length <= 12) return EPOCH;
  if (s.length < 19) return s.padStart(19, '0');
  if (s.length === 19) return s <= INT64_MAX ? s : INT64_MAX;
  return INT64_MAX;
}

/** Milliseconds since the epoch, for price lookups by date; undefined when the time is unset. */
export function nanosToMillis(ns: string): number | undefined {
  const n = Number(ns);
  return n > 0 ? n / 1e6 : undefined;
}
