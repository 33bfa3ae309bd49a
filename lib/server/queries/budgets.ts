import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Storage } from '../storage/storage';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

// Tree budgets: the `budgets` table (migrations/009_budgets.sql), set through the API, one row per change and
// the newest version per trace in force (a NULL amount removes it); and the canopy.budget.usd attribute of spans
// reported at start (`started_spans.budget_usd`), which the detector cannot read from the ended spans of a tree
// whose root has not ended. Rows become typed values here, once.

export interface StoredBudget {
  traceId: string;
  /** null: the budget set through the API was removed. */
  maxCostUsd: number | null;
  version: number;
}

// Aliases differ from the columns: an alias named like a column would shadow it inside the aggregates.
interface BudgetRow {
  b_trace: string;
  b_max: number | null;
  b_version: string;
}

// argMax skips NULL arguments: the amount rides in a tuple so that a removal (NULL) wins when it is newest.
const LATEST = `trace_id AS b_trace, argMax(tuple(max_cost_usd), version).1 AS b_max, toString(max(version)) AS b_version`;

const toBudget = (r: BudgetRow): StoredBudget => ({ traceId: r.b_trace, maxCostUsd: r.b_max === null ? null : Number(r.b_max), version: Number(r.b_version) });

let lastVersion = 0;
/** Versions grow within a process even when the clock does not; across processes the clock orders them. */
export function nextBudgetVersion(nowMs = Date.now()): number {
  lastVersion = Math.max(nowMs * 1000, lastVersion + 1);
  return lastVersion;
}

export async function writeBudget(storage: Storage, budget: StoredBudget, retentionDays: number): Promise<void> {
  const row = { trace_id: budget.traceId, max_cost_usd: budget.maxCostUsd, version: budget.version, retention_days: retentionDays };
  await storage.insertRaw('budgets', Buffer.from(JSON.stringify(row) + '\n'));
}

/** The budgets set through the API on these traces (removed ones included, as null). */
export async function budgetsOf(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<Map<string, StoredBudget>> {
  if (traceIds.length === 0) return new Map();
  const found = await rows<BudgetRow>(client, opts, `
    SELECT ${LATEST} FROM budgets WHERE trace_id IN {ids:Array(FixedString(32))} GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ids: traceIds });
  return new Map(found.map((r) => [r.b_trace, toBudget(r)]));
}

/** Every budget set through the API and in force (at start, and after a poll gap). */
export async function activeBudgets(client: ClickHouseClient, opts: ReadOptions = {}): Promise<StoredBudget[]> {
  return (await rows<BudgetRow>(client, opts, `
    SELECT ${LATEST} FROM budgets GROUP BY trace_id HAVING b_max IS NOT NULL
    SETTINGS ${READ_TIME_LIMIT}`, {})).map(toBudget);
}

/** The newest state of every trace's budget changed in the last `withinMs`, on the ClickHouse server's clock. */
export async function budgetsChangedWithin(client: ClickHouseClient, withinMs: number, opts: ReadOptions = {}): Promise<StoredBudget[]> {
  return (await rows<BudgetRow>(client, opts, `
    SELECT ${LATEST} FROM budgets
    WHERE trace_id IN (SELECT trace_id FROM budgets WHERE seen_at > now64(3) - toIntervalMillisecond({ms:UInt32}))
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ms: Math.max(0, Math.round(withinMs)) })).map(toBudget);
}

/** canopy.budget.usd of these trees' spans reported at start: the root's, else the smallest. */
export async function startedSpanBudgets(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<Map<string, number>> {
  if (traceIds.length === 0) return new Map();
  const found = await rows<{ trace_id: string; b: number }>(client, opts, `
    SELECT trace_id, if(countIf(parent_span_id = '') > 0, anyIf(budget_usd, parent_span_id = ''), min(budget_usd)) AS b
    FROM started_spans
    WHERE trace_id IN {ids:Array(FixedString(32))} AND budget_usd IS NOT NULL
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ids: traceIds });
  return new Map(found.map((r) => [r.trace_id, Number(r.b)]));
}
