import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

// The webhook's standing as the stored alerts record it (migrations/006_detector.sql: `notified` is the
// severity last delivered): the same answer whichever process runs the detector and sends the webhook.

export interface AlertDeliveryCounts {
  /** Alerts whose latest severity was delivered. */
  delivered: number;
  /** Alerts not resolved whose latest severity was not delivered yet: in flight, retrying, or given up on. */
  owed: number;
  /** When the oldest of those was first raised (ms), or null. */
  oldestOwedMs: number | null;
}

export async function alertDeliveryCounts(client: ClickHouseClient, opts: ReadOptions = {}): Promise<AlertDeliveryCounts> {
  const [r] = await rows<{ delivered: string; owed: string; oldest: string }>(client, opts, `
    SELECT toString(countIf(notified != 'none' AND toUInt8(notified) >= toUInt8(severity))) AS delivered,
      toString(countIf(status != 'resolved' AND toUInt8(notified) < toUInt8(severity))) AS owed,
      toString(minIf(toUnixTimestamp64Milli(first_seen), status != 'resolved' AND toUInt8(notified) < toUInt8(severity))) AS oldest
    FROM alerts FINAL
    SETTINGS ${READ_TIME_LIMIT}`, {});
  const owed = Number(r?.owed ?? 0);
  return { delivered: Number(r?.delivered ?? 0), owed, oldestOwedMs: owed > 0 ? Number(r.oldest) : null };
}
