import 'server-only';
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Alert, AlertEvidence, AlertRule, AlertSeverity, AlertStatus, AutoKillRecord } from '../../domain';
import type { Storage } from '../storage/storage';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

// The `alerts` table (migrations/006_detector.sql): one row per (trace, rule, branch) once merged, every
// change a new row with a higher version. The detector writes them (detector/service.ts); the API lists,
// shows and acknowledges them. Rows become typed `StoredAlert`s here, once.

/** An alert as stored: the API's Alert plus what the detector needs to update it. */
export interface StoredAlert extends Alert {
  /** '' for a finding about the whole tree, else the branch's span id (the row's key with trace and rule). */
  branch: string;
  /** The severity last delivered to the webhook, or null when none was. */
  notified: AlertSeverity | null;
  version: number;
}

interface AlertRow {
  id: string;
  trace_id: string;
  rule: AlertRule;
  branch: string;
  span_id: string;
  severity: AlertSeverity;
  title: string;
  evidence: string;
  status: AlertStatus;
  first_ms: string;
  last_ms: string;
  notified: AlertSeverity | 'none';
  version: string;
  auto_kill: string;
}

const COLUMNS = `id, trace_id, rule, branch, span_id, severity, title, evidence, status,
  toString(toUnixTimestamp64Milli(first_seen)) AS first_ms, toString(toUnixTimestamp64Milli(last_seen)) AS last_ms,
  notified, toString(version) AS version, auto_kill`;

function toAlert(r: AlertRow): StoredAlert {
  return {
    id: r.id,
    traceId: r.trace_id,
    rule: r.rule,
    branch: r.branch,
    spanId: r.span_id,
    severity: r.severity,
    title: r.title,
    evidence: JSON.parse(r.evidence) as AlertEvidence,
    status: r.status,
    firstSeen: new Date(Number(r.first_ms)).toISOString(),
    lastSeen: new Date(Number(r.last_ms)).toISOString(),
    notified: r.notified === 'none' ? null : r.notified,
    version: Number(r.version),
    autoKill: r.auto_kill ? (JSON.parse(r.auto_kill) as AutoKillRecord) : null,
  };
}

/** What the API shows: the stored alert without the detector's bookkeeping. */
export function publicAlert(a: StoredAlert): Alert {
  const { branch: _b, notified: _n, version: _v, ...alert } = a;
  return alert;
}

/** The stable id of the alert for (trace, rule, branch): 16 hex digits. */
export function alertId(traceId: string, rule: AlertRule, branch: string): string {
  return createHash('sha256').update(`${traceId}/${rule}/${branch}`).digest('hex').slice(0, 16);
}

let lastVersion = 0;
/** Versions grow within a process even when the clock does not; across processes the clock orders them. */
export function nextAlertVersion(nowMs = Date.now()): number {
  lastVersion = Math.max(nowMs * 1000, lastVersion + 1);
  return lastVersion;
}

export interface AlertListQuery {
  traceId?: string;
  rule?: AlertRule;
  severity?: AlertSeverity;
  status?: AlertStatus;
  limit: number;
  /** Continue after this alert (newest first by first seen, then id). */
  cursor?: { firstMs: number; id: string } | null;
}

export function encodeAlertCursor(c: { firstMs: number; id: string }): string {
  return Buffer.from(JSON.stringify([c.firstMs, c.id])).toString('base64url');
}

export function decodeAlertCursor(s: string): { firstMs: number; id: string } | null {
  try {
    const [firstMs, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown[];
    if (typeof firstMs !== 'number' || !Number.isSafeInteger(firstMs) || typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) return null;
    return { firstMs, id };
  } catch {
    return null;
  }
}

/** Alerts newest first (by when they were first raised), filtered, paged by cursor. */
export async function listAlerts(client: ClickHouseClient, q: AlertListQuery, opts: ReadOptions = {}): Promise<{ alerts: Alert[]; nextCursor: string | null }> {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: q.limit + 1 };
  if (q.traceId) (where.push('trace_id = {trace:FixedString(32)}'), (params.trace = q.traceId));
  if (q.rule) (where.push('rule = {rule:String}'), (params.rule = q.rule));
  if (q.severity) (where.push('severity = {severity:String}'), (params.severity = q.severity));
  if (q.status) (where.push('status = {status:String}'), (params.status = q.status));
  if (q.cursor) {
    where.push('(first_seen < fromUnixTimestamp64Milli({c_ms:Int64}) OR (first_seen = fromUnixTimestamp64Milli({c_ms:Int64}) AND id < {c_id:String}))');
    Object.assign(params, { c_ms: q.cursor.firstMs, c_id: q.cursor.id });
  }
  const found = (await rows<AlertRow>(client, opts, `
    SELECT ${COLUMNS} FROM alerts FINAL
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY first_seen DESC, id DESC
    LIMIT {limit:UInt32}
    SETTINGS ${READ_TIME_LIMIT}`, params)).map(toAlert);
  const page = found.slice(0, q.limit);
  const last = page.at(-1);
  const nextCursor = found.length > q.limit && last ? encodeAlertCursor({ firstMs: Date.parse(last.firstSeen), id: last.id }) : null;
  return { alerts: page.map(publicAlert), nextCursor };
}

export async function getAlert(client: ClickHouseClient, id: string, opts: ReadOptions = {}): Promise<StoredAlert | null> {
  const [row] = await rows<AlertRow>(client, opts, `SELECT ${COLUMNS} FROM alerts FINAL WHERE id = {id:FixedString(16)} LIMIT 1 SETTINGS ${READ_TIME_LIMIT}`, { id });
  return row ? toAlert(row) : null;
}

/** Every alert of these traces, as stored (the detector's view before it updates them). */
export async function storedAlertsOf(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<StoredAlert[]> {
  if (traceIds.length === 0) return [];
  return (await rows<AlertRow>(client, opts, `
    SELECT ${COLUMNS} FROM alerts FINAL WHERE trace_id IN {ids:Array(FixedString(32))}
    SETTINGS ${READ_TIME_LIMIT}`, { ids: traceIds })).map(toAlert);
}

/**
 * Every trace that has an alert stored (alerts are rare: a runaway's handful, not one per tree). The detector
 * keeps them in memory and reads the alerts of only those trees, not of every tree it judges.
 */
export async function tracesWithAlerts(client: ClickHouseClient, opts: ReadOptions = {}): Promise<string[]> {
  return (await rows<{ trace_id: string }>(client, opts, `SELECT DISTINCT trace_id FROM alerts SETTINGS max_execution_time = 60`, {})).map((r) => r.trace_id);
}

/** The alerts of one trace for its detail, worst first. */
export async function alertsOfTrace(client: ClickHouseClient, traceId: string, opts: ReadOptions = {}): Promise<Alert[]> {
  const found = await storedAlertsOf(client, [traceId], opts);
  const rank = (a: Alert) => (a.status === 'resolved' ? 0 : a.severity === 'critical' ? 2 : 1);
  return found.sort((a, b) => rank(b) - rank(a) || b.lastSeen.localeCompare(a.lastSeen)).map(publicAlert);
}

/** Open (not acknowledged, not resolved) alerts per trace, for the list: count and worst severity. */
export async function openAlertsOf(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<Map<string, { count: number; worst: AlertSeverity }>> {
  if (traceIds.length === 0) return new Map();
  const found = await rows<{ trace_id: string; n: string; worst: string }>(client, opts, `
    SELECT trace_id, toString(count()) AS n, toString(max(toUInt8(severity))) AS worst FROM alerts FINAL
    WHERE trace_id IN {ids:Array(FixedString(32))} AND status = 'open'
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ids: traceIds });
  return new Map(found.map((r) => [r.trace_id, { count: Number(r.n), worst: r.worst === '2' ? 'critical' : 'warning' }]));
}

/** Alerts whose severity was never delivered to the webhook (after a restart, what is still owed). */
export async function undeliveredAlerts(client: ClickHouseClient, opts: ReadOptions = {}): Promise<StoredAlert[]> {
  return (await rows<AlertRow>(client, opts, `
    SELECT ${COLUMNS} FROM alerts FINAL WHERE status != 'resolved' AND toUInt8(notified) < toUInt8(severity)
    ORDER BY last_seen LIMIT 10000
    SETTINGS ${READ_TIME_LIMIT}`, {})).map(toAlert);
}

const utc = (iso: string) => iso.replace('T', ' ').replace('Z', '');

/** Writes new versions of alerts (each must carry a version above its stored one). */
export async function writeAlerts(storage: Storage, alerts: readonly StoredAlert[], retentionDays: number): Promise<void> {
  if (alerts.length === 0) return;
  const lines = alerts.map((a) =>
    JSON.stringify({
      id: a.id,
      trace_id: a.traceId,
      rule: a.rule,
      branch: a.branch,
      span_id: a.spanId,
      severity: a.severity,
      title: a.title,
      evidence: JSON.stringify(a.evidence),
      status: a.status,
      first_seen: utc(a.firstSeen),
      last_seen: utc(a.lastSeen),
      notified: a.notified ?? 'none',
      version: a.version,
      auto_kill: a.autoKill ? JSON.stringify(a.autoKill) : '',
      retention_days: retentionDays,
    }),
  );
  await storage.insertRaw('alerts', Buffer.from(lines.join('\n') + '\n'));
}

/**
 * Acknowledges an alert: someone is on it. Idempotent; a resolved alert stays resolved. Null when no alert
 * has this id.
 */
export async function acknowledgeAlert(storage: Storage, id: string, retentionDays: number): Promise<Alert | null> {
  const current = await getAlert(storage.client, id);
  if (!current) return null;
  if (current.status !== 'open') return publicAlert(current);
  const acked: StoredAlert = { ...current, status: 'acknowledged', version: nextAlertVersion() };
  await writeAlerts(storage, [acked], retentionDays);
  return publicAlert(acked);
}
