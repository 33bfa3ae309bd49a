import type { Alert, Kill } from '../../domain';

// The trace detail's cursor: what a client that holds a detail already has, so that `?since=<cursor>` answers
// only what changed (trace-increment.ts). Per table (ended spans, spans reported at start): the newest ingest time
// (ms, the engine's clock) of the rows it was built from, and a key of the rows stored in the last `slack` ms up to
// it. Rows stamped at or just before that time may become visible after the read (another insert of the same
// millisecond; on a ClickHouse server, another process's insert): when the rows of that stretch are still the
// ones the client saw, the client has everything up to the time; else that stretch is sent again. And a key of
// the kills in force (a kill or revive changes `killed` on whole branches: the answer is then the full detail).
// Opaque to clients; never a value in SQL text (the times go in as parameters).

export interface TableMark {
  /** Newest ingest time (ms) read; 0 for none. */
  ms: number;
  /** Key of the span ids stored in [ms - slack, ms]. */
  key: string;
}

export interface DetailCursor {
  ended: TableMark;
  started: TableMark;
  kills: string;
  /** A key of the tree's alerts as sent: unchanged alerts are not sent again. */
  alerts: string;
}

const CURSOR = /^(\d{1,15})\.([0-9a-f]{8})-(\d{1,15})\.([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{8})$/;

export function encodeDetailCursor(c: DetailCursor): string {
  return `${c.ended.ms}.${c.ended.key}-${c.started.ms}.${c.started.key}-${c.kills}-${c.alerts}`;
}

/** A cursor this API returned, or null for anything else (the route answers 400). */
export function decodeDetailCursor(s: string): DetailCursor | null {
  const m = CURSOR.exec(s);
  return m ? { ended: { ms: Number(m[1]), key: m[2] }, started: { ms: Number(m[3]), key: m[4] }, kills: m[5], alerts: m[6] } : null;
}

/** A short key of the alerts as the detail shows them: it changes when one is raised, grows, is acknowledged or resolved. */
export function alertsKey(alerts: readonly Alert[]): string {
  return fnv(alerts.map((a) => `${a.id}/${a.lastSeen}/${a.status}/${a.severity}/${a.evidence.spanCount}`).join('\n'));
}

/** FNV-1a, 32 bits, as 8 hex digits. */
function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** A short key of the kills in force: it changes when one is made or revived. */
export function killsKey(kills: readonly Kill[]): string {
  return fnv(kills.map((k) => `${k.scope}/${k.spanId ?? ''}/${k.createdAt}`).sort().join('\n'));
}

/** The mark of a table's rows: their newest ingest time, and the key of the ids stored in the `slackMs` up to it. */
export function tableMark(rows: readonly { spanId: string; ingestedMs: number }[], slackMs: number): TableMark {
  let ms = 0;
  for (const r of rows) if (r.ingestedMs > ms) ms = r.ingestedMs;
  return { ms, key: windowKey(rows, ms - slackMs, ms) };
}

export function windowKey(rows: readonly { spanId: string; ingestedMs: number }[], fromMs: number, toMs: number): string {
  const ids: string[] = [];
  for (const r of rows) if (r.ingestedMs >= fromMs && r.ingestedMs <= toMs) ids.push(r.spanId);
  return fnv(ids.sort().join(','));
}

/**
 * The newest ingest time the client surely has every row of, in a table, now that its rows are `rows`: the mark's
 * time when the rows of its last stretch are still those the client saw, else just before that stretch.
 */
export function knownUpTo(rows: readonly { spanId: string; ingestedMs: number }[], mark: TableMark, slackMs: number): number {
  if (mark.ms === 0) return -1;
  return windowKey(rows, mark.ms - slackMs, mark.ms) === mark.key ? mark.ms : mark.ms - slackMs - 1;
}
