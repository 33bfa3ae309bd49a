import { describe, expect, it } from 'vitest';
import { HISTORY_COLUMNS, historyRows, type FinishedTree } from '../../lib/server/queries/detector-state';

// The history of finished trees is written as hand-built JSONCompactEachRow (one per tree, thousands per flush): it
// must read back, column by column, exactly as the rows JSON.stringify would have made, whatever the names hold.
describe('tree history rows', () => {
  const tree = (traceId: string, serviceName: string, rootName: string, finishedMs: number, costUsd: number, runaway = false): FinishedTree => ({
    traceId,
    finishedMs,
    runaway,
    stats: { serviceName, rootName, costUsd, tokens: 1234, durationMs: 81964.25, spans: 18, maxChildren: 3, maxDepth: 2, maxCallInputTokens: 10542 },
  });

  it('writes one JSON array per tree, in the columns\' order, names with quotes, backslashes, control characters and non-ASCII intact', () => {
    const trees = [
      tree('a'.repeat(32), 'svc "quoted"', 'invoke_agent Orchestrator', 1764600000000, 0.0392522),
      tree('b'.repeat(32), 'svc "quoted"', 'back\\slash\nnewline\u0001 ✓ 日本', 1764600000000, 1e-7, true),
      tree('c'.repeat(32), 'other', 'invoke_agent Orchestrator', 1764600001234, Number.NaN),
      // (names long enough to grow the buffer past its first guess)
      tree('d'.repeat(32), 'ü'.repeat(300), 'r'.repeat(500), 1764600001234, 12.5),
    ];
    const lines = historyRows(trees, 30).toString('utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(0, -1).map((l) => Object.fromEntries((JSON.parse(l) as unknown[]).map((v, i) => [HISTORY_COLUMNS[i], v])));
    expect(rows).toHaveLength(4);
    expect(rows[3]).toMatchObject({ service_name: 'ü'.repeat(300), root_name: 'r'.repeat(500), cost_usd: 12.5, tokens: 1234 });
    expect(rows[1]).toEqual({
      service_name: 'svc "quoted"',
      root_name: 'back\\slash\nnewline\u0001 ✓ 日本',
      trace_id: 'b'.repeat(32),
      finished_at: '2025-12-01 14:40:00.000',
      cost_usd: 1e-7,
      tokens: 1234,
      duration_ms: 81964.25,
      spans: 18,
      max_children: 3,
      max_depth: 2,
      max_call_input_tokens: 10542,
      runaway: 1,
      retention_days: 30,
    });
    expect(rows[0].runaway).toBe(0);
    expect(rows[2].finished_at).toBe('2025-12-01 14:40:01.234');
    // A number JSON cannot hold is written as JSON.stringify would: null.
    expect(rows[2].cost_usd).toBeNull();
  });
});
