import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { roundUsd, type KillSource } from '../../domain';
import { usdPerMinute, type BucketPlan, type KillSpend } from '../../domain/spend';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

// The spend page's kills of the period (GET /api/spend): each kill made in the range with what its tree had
// spent when it was stopped. Kills keep their newest version (argMax), as lib/server/queries/kills.ts reads
// them; the tree's calls are read by trace id (the primary key), each once (LIMIT 1 BY, as in spend.ts).

interface KillQueryRow {
  k_trace: string;
  k_span: string;
  k_source: KillSource;
  k_reason: string;
  k_created_ms: string;
  k_revoked_ms: string | null;
  k_spent: number | null;
  k_tokens: string | null;
  k_unpriced: string | null;
  k_first_ms: string | null;
  k_root: string | null;
}

/**
 * Kills made in the range (newest first, at most `limit`), each with its tree's spend when it was stopped: the
 * calls of the whole tree that started before the kill, each once, and the time from the tree's first span to
 * the kill, which gives the burn rate.
 */
export async function killsWithSpend(client: ClickHouseClient, plan: BucketPlan, limit: number, opts: ReadOptions = {}): Promise<KillSpend[]> {
  const KILLS = `
    SELECT trace_id AS k_trace, span_id AS k_span, argMax(source, version) AS k_source, argMax(reason, version) AS k_reason,
      toUnixTimestamp64Milli(argMax(created_at, version)) AS k_created,
      toString(toUnixTimestamp64Milli(argMax(tuple(revoked_at), version).1)) AS k_revoked_ms
    FROM kills GROUP BY trace_id, span_id
    HAVING k_created >= {from_ms:Int64} AND k_created < {to_ms:Int64}
    ORDER BY k_created DESC, k_trace, k_span
    LIMIT {limit:UInt32}`;
  const found = await rows<KillQueryRow>(client, opts, `
    SELECT k_trace, k_span, k_source, k_reason, toString(k_created) AS k_created_ms, k_revoked_ms,
      sumIf(cost, call_ms <= k_created) AS k_spent, toString(sumIf(tok, call_ms <= k_created)) AS k_tokens,
      toString(countIf(unpriced AND call_ms <= k_created)) AS k_unpriced,
      toString(any(trees.first_ms)) AS k_first_ms, any(trees.root) AS k_root
    FROM (${KILLS}) AS k
    LEFT JOIN (
      SELECT trace_id, toUnixTimestamp64Milli(start_time) AS call_ms, ifNull(cost_usd, 0) AS cost,
        input_tokens + output_tokens AS tok, cost_usd IS NULL AND tok > 0 AS unpriced
      FROM spans
      WHERE trace_id IN (SELECT k_trace FROM (${KILLS})) AND counts_usage = 1
      LIMIT 1 BY trace_id, span_id
    ) AS calls ON calls.trace_id = k.k_trace
    LEFT JOIN (
      SELECT trace_id, toUnixTimestamp64Milli(min(start_time)) AS first_ms, max(root_name) AS root FROM traces
      WHERE trace_id IN (SELECT k_trace FROM (${KILLS}))
      GROUP BY trace_id
    ) AS trees ON trees.trace_id = k.k_trace
    GROUP BY k_trace, k_span, k_source, k_reason, k_created, k_revoked_ms
    ORDER BY k_created DESC, k_trace, k_span
    SETTINGS ${READ_TIME_LIMIT}, join_use_nulls = 1`, { from_ms: plan.fromMs, to_ms: plan.toMs, limit });
  return found.map((r) => {
    const killedMs = Number(r.k_created_ms);
    const firstMs = r.k_first_ms === null || r.k_first_ms === '' ? null : Number(r.k_first_ms);
    const lifeMs = firstMs === null || !Number.isFinite(firstMs) ? null : Math.max(0, killedMs - firstMs);
    const costUsd = roundUsd(r.k_spent ?? 0);
    return {
      traceId: r.k_trace,
      spanId: r.k_span || null,
      scope: r.k_span ? 'branch' : 'tree',
      source: r.k_source,
      reason: r.k_reason,
      killedAt: new Date(killedMs).toISOString(),
      revokedAt: r.k_revoked_ms ? new Date(Number(r.k_revoked_ms)).toISOString() : null,
      rootName: r.k_root ?? '',
      costUsd,
      tokens: Number(r.k_tokens ?? 0),
      unpricedCalls: Number(r.k_unpriced ?? 0),
      lifeMs,
      usdPerMinute: usdPerMinute(costUsd, lifeMs),
    } satisfies KillSpend;
  });
}
