import type { SpanRow } from './types';

/** Rows as one JSONEachRow payload: the engine parses it on its own threads, off the event loop. */
export function toJsonEachRow(rows: readonly SpanRow[]): Buffer {
  let text = '';
  for (const row of rows) text += JSON.stringify(row) + '\n';
  return Buffer.from(text, 'utf8');
}
