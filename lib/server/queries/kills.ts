import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kill, KillSource } from '../../domain';
import type { Storage } from '../storage/storage';
import { READ_TIME_LIMIT, eachTabPair, queryBytes, rows, type ReadOptions } from './read';

// The `kills` table (migrations/007_kills.sql): one row per (trace, span) once merged, every change (kill,
// revive, kill again) a new row with a higher version. Every read takes each key's newest version with argMax,
// exact whether or not the parts were merged. Rows become typed `StoredKill`s here, once. The kill hub
// (lib/server/kill-hub.ts) is the only caller: it keeps the kills in force in memory.

/** A kill as stored: the API's record plus its version (a later change of the same key has a higher one). */
export interface StoredKill extends Kill {
  version: number;
}

// Aliases differ from the column names: an alias named like a column would shadow it inside the aggregates.
interface KillRow {
  k_trace: string;
  k_span: string;
  k_reason: string;
  k_source: KillSource;
  k_alert: string;
  k_created_ms: string;
  k_revoked_ms: string | null;
  k_active: number;
  k_version: string;
}

// The newest version of each (trace, span) among the rows the WHERE keeps. revoked_at rides in a tuple: an
// aggregate skips NULL arguments, so a kill after a revive would otherwise show the old revive's time.
const LATEST = `trace_id AS k_trace, span_id AS k_span,
  argMax(reason, version) AS k_reason, argMax(source, version) AS k_source, argMax(alert_id, version) AS k_alert,
  toString(toUnixTimestamp64Milli(argMax(created_at, version))) AS k_created_ms,
  toString(toUnixTimestamp64Milli(argMax(tuple(revoked_at), version).1)) AS k_revoked_ms,
  argMax(active, version) AS k_active, toString(max(version)) AS k_version`;

function toKill(r: KillRow): StoredKill {
  return {
    traceId: r.k_trace,
    spanId: r.k_span || null,
    scope: r.k_span ? 'branch' : 'tree',
    reason: r.k_reason,
    source: r.k_source,
    alertId: r.k_alert || null,
    createdAt: new Date(Number(r.k_created_ms)).toISOString(),
    revokedAt: r.k_revoked_ms ? new Date(Number(r.k_revoked_ms)).toISOString() : null,
    active: Number(r.k_active) === 1,
    version: Number(r.k_version),
  };
}

let lastVersion = 0;
/** Versions grow within a process even when the clock does not; across processes the clock orders them. */
export function nextKillVersion(nowMs = Date.now()): number {
  lastVersion = Math.max(nowMs * 1000, lastVersion + 1);
  return lastVersion;
}

/** Every kill in force (at start, and after the hub lost track of changes). */
export async function activeKills(client: ClickHouseClient, opts: ReadOptions = {}): Promise<StoredKill[]> {
  return (await rows<KillRow>(client, opts, `
    SELECT ${LATEST} FROM kills GROUP BY trace_id, span_id HAVING k_active = 1
    SETTINGS ${READ_TIME_LIMIT}`, {})).map(toKill);
}

/**
 * The newest state of every key changed in the last `withinMs`, on the ClickHouse server's clock (`seen_at` is
 * its insert time), so every process polling one server sees every change, whatever its own clock says.
 */
export async function killsChangedWithin(client: ClickHouseClient, withinMs: number, opts: ReadOptions = {}): Promise<StoredKill[]> {
  return (await rows<KillRow>(client, opts, `
    SELECT ${LATEST} FROM kills
    WHERE (trace_id, span_id) IN (SELECT trace_id, span_id FROM kills WHERE seen_at > now64(3) - toIntervalMillisecond({ms:UInt32}))
    GROUP BY trace_id, span_id
    SETTINGS ${READ_TIME_LIMIT}`, { ms: Math.max(0, Math.round(withinMs)) })).map(toKill);
}

/** The newest state of one key, or null when it was never killed. */
export async function storedKill(client: ClickHouseClient, traceId: string, spanId: string | null, opts: ReadOptions = {}): Promise<StoredKill | null> {
  const [row] = await rows<KillRow>(client, opts, `
    SELECT ${LATEST} FROM kills WHERE trace_id = {t:FixedString(32)} AND span_id = {s:String}
    GROUP BY trace_id, span_id
    SETTINGS ${READ_TIME_LIMIT}`, { t: traceId, s: spanId ?? '' });
  return row ? toKill(row) : null;
}

const utc = (iso: string) => iso.replace('T', ' ').replace('Z', '');

/** Writes a new version of a kill (a kill, a revive); `seen_at` is left to the server. */
export async function writeKill(storage: Storage, kill: StoredKill, retentionDays: number): Promise<void> {
  const row = {
    trace_id: kill.traceId,
    span_id: kill.spanId ?? '',
    reason: kill.reason,
    source: kill.source,
    alert_id: kill.alertId ?? '',
    created_at: utc(kill.createdAt),
    revoked_at: kill.revokedAt ? utc(kill.revokedAt) : null,
    active: kill.active ? 1 : 0,
    version: kill.version,
    retention_days: retentionDays,
  };
  await storage.insertRaw('kills', Buffer.from(JSON.stringify(row) + '\n'));
}

/**
 * Each stored span's parent in one trace (`span id → parent id`, '' for a root), at most `limit` spans: what
 * a branch kill needs to know which spans lie below it. Not FINAL: a re-sent span repeats the same parent.
 */
export async function spanParents(client: ClickHouseClient, traceId: string, limit: number, opts: ReadOptions = {}): Promise<Map<string, string>> {
  const text = (await queryBytes(client, opts, `
    SELECT span_id, parent_span_id FROM
    (
        SELECT span_id, parent_span_id FROM spans WHERE trace_id = {t:FixedString(32)}
        UNION ALL
        -- Spans reported at start (sdk/): a running agent's ancestry is known before any of its spans ends.
        SELECT span_id, parent_span_id FROM started_spans WHERE trace_id = {t:FixedString(32)}
    )
    LIMIT {limit:UInt32}
    SETTINGS ${READ_TIME_LIMIT}
    FORMAT TabSeparated`, { t: traceId, limit })).toString('latin1');
  const parents = new Map<string, string>();
  eachTabPair(text, (spanId, parent) => parents.set(spanId, parent));
  return parents;
}
