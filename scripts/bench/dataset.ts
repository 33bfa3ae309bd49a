// Phase 4's data set, generated inside ClickHouse: `traces` × `spansPerTrace` agent-shaped spans (a binary tree of
// agent spans, each with chat and tool children; two services per trace; tokens, costs, an unpriced model,
// ~1% errors; attributes maps like the normaliser writes) spread over the last 7 days of ingestion, plus one
// large trace; then, for the reads at 1 M traces, more of the same traces ingested over the 23 days before those
// (`generateHistory`): a month of traces, what the default retention keeps. Rows are the full span rows the server writes, inserted into `spans` with
// INSERT … SELECT from numbers(), so the materialized views (the list's indexes) fill exactly as under ingest,
// one insert block at a time. Constant SQL, no user values.
//
// Search terms by rarity: every trace has the common ones (agents, models, tools, services); ~18% of traces a
// `RateLimitError`; 1 trace in 200 runs the tool `run_migrations` and 1 in 10,000 the tool `run_tests`.

import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';

export const BIG_TRACE_ID = 'b16b16b16b16b16b16b16b16b16b16b1';

const COLUMNS = `trace_id, span_id, parent_span_id, service_name, name, kind, status, status_message, start_time, end_time,
  category, model, provider, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, counts_usage,
  agent_name, tool_name, session_id, user_id, call_signature, error_type, attributes, resource_id, scope_name,
  retention_days, ingested_at`;

/**
 * Rows for spans [first, first + count) of traces with `spansPerTrace` spans each. `traceIdExpr` maps the trace
 * number `t` to its 32-hex id; `t0Expr` is the trace's start in unix ns; `spreadNs` spaces traces apart.
 */
function selectSql(opts: { count: number; spansPerTrace: number; traceIdExpr: string; t0Expr: string; firstTrace?: number; retentionDays?: number }): string {
  const { count, spansPerTrace } = opts;
  return `
SELECT
  ${opts.traceIdExpr} AS trace_id,
  substring(lower(hex(MD5(concat('s', toString(t), ':', toString(i))))), 1, 16) AS span_id,
  if(i = 0, '', substring(lower(hex(MD5(concat('s', toString(t), ':', toString(p))))), 1, 16)) AS parent_span_id,
  arrayElement(['support-bot', 'research-agent', 'code-assistant', 'billing-agent', 'triage-worker', 'sales-copilot'],
               toUInt32((t + if(i < ${Math.floor(spansPerTrace / 2)}, 0, 1)) % 6) + 1) AS service_name,
  multiIf(cat = 'agent', concat('invoke_agent ', agent), cat = 'llm', concat('chat ', model_), concat('execute_tool ', tool)) AS name,
  if(cat = 'llm', 3, if(i = 0, 2, 1)) AS kind,
  if(err, 'error', if(cat = 'llm', 'unset', 'ok')) AS status,
  if(err, if(cat = 'llm', 'Rate limit exceeded (429)', 'tool timed out'), '') AS status_message,
  fromUnixTimestamp64Nano(toInt64(start_ns)) AS start_time,
  fromUnixTimestamp64Nano(toInt64(start_ns + dur_ns)) AS end_time,
  cat AS category,
  if(cat = 'llm', model_, '') AS model,
  if(cat = 'llm', multiIf(startsWith(model_, 'gpt'), 'openai', startsWith(model_, 'claude'), 'anthropic', startsWith(model_, 'gemini'), 'gcp.gemini', 'acme-inference'), '') AS provider,
  if(cat = 'llm' AND NOT err, 400 + h % 12000, 0) AS input_tokens,
  if(cat = 'llm' AND NOT err, 20 + intDiv(h, 12000) % 900, 0) AS output_tokens,
  if(cat = 'llm' AND NOT err AND h % 3 = 0, (h % 12000) / 2, 0) AS cache_read_tokens,
  0 AS cache_write_tokens,
  if(cat = 'llm' AND model_ != 'acme-triage-ft-v3', if(err, 0, (400 + h % 12000) * 2.5e-6 + (20 + intDiv(h, 12000) % 900) * 1e-5), NULL) AS cost_usd,
  if(cat = 'llm', 1, 0) AS counts_usage,
  if(cat = 'agent', agent, '') AS agent_name,
  if(cat = 'tool', tool, '') AS tool_name,
  concat('conv_', toString(t)) AS session_id,
  concat('user_', toString(t % 5000)) AS user_id,
  if(cat = 'agent', '', substring(lower(hex(MD5(concat(name, toString(h % 50))))), 1, 16)) AS call_signature,
  if(err, if(cat = 'llm', 'RateLimitError', 'ToolError'), '') AS error_type,
  multiIf(
    cat = 'llm', map('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', provider, 'gen_ai.request.model', model_,
                     'gen_ai.response.model', model_, 'gen_ai.response.id', concat('chatcmpl-', lower(hex(MD5(span_id)))),
                     'gen_ai.usage.input_tokens', toString(input_tokens), 'gen_ai.usage.output_tokens', toString(output_tokens),
                     'gen_ai.request.temperature', '0.2', 'server.address', 'api.example.com',
                     'gen_ai.input.messages', concat('[{"role":"user","parts":[{"type":"text","content":"step ', hex(MD5(span_id)), '"}]}]')),
    cat = 'tool', map('gen_ai.operation.name', 'execute_tool', 'gen_ai.tool.name', tool, 'gen_ai.tool.type', 'function',
                      'gen_ai.tool.call.id', concat('call_', lower(hex(MD5(span_id)))),
                      'gen_ai.tool.call.arguments', concat('{"query":"', hex(MD5(concat('q', span_id))), '","max_results":', toString(h % 10), '}'),
                      'gen_ai.tool.call.result', concat('ok (', toString(h % 40), ' results)')),
    map('gen_ai.operation.name', 'invoke_agent', 'gen_ai.agent.name', agent, 'gen_ai.agent.id', concat('agent_', lower(agent)),
        'gen_ai.conversation.id', concat('conv_', toString(t)))) AS attributes,
  substring(lower(hex(MD5(concat(toString(service_name), '/ip-10-0-', toString(t % 256))))), 1, 16) AS resource_id,
  'canopy-bench.agents' AS scope_name,
  ${opts.retentionDays ?? 30} AS retention_days,
  fromUnixTimestamp64Milli(toInt64(intDiv(start_ns + dur_ns, 1000000) + 50)) AS ingested_at
FROM
(
  SELECT
    intDiv(number, ${spansPerTrace}) + ${opts.firstTrace ?? 0} AS t,
    number % ${spansPerTrace} AS i,
    cityHash64(t, i) AS h,
    h % 100 = 7 AS err,
    -- agents at i = 0 and i = 1 (mod 5); each agent k's parent is agent floor((k-1)/2) (a binary tree of agents),
    -- every other span hangs under the agent of its block of five
    if(i = 0, 'agent', if(i % 5 = 1, 'agent', if(i % 5 IN (2, 4), 'llm', 'tool'))) AS cat,
    intDiv(i - 1, 5) AS k,
    multiIf(i = 0, 0, i % 5 = 1, if(k = 0, 0, 1 + 5 * intDiv(k - 1, 2)), 1 + 5 * k) AS p,
    arrayElement(['Orchestrator', 'Researcher', 'Coder', 'Reviewer', 'Planner', 'Summarizer', 'Triage'], toUInt32((t + k) % 7) + 1) AS agent,
    arrayElement(['gpt-4o', 'gpt-4o-mini', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'gemini-2.5-flash', 'acme-triage-ft-v3'], toUInt32((t + i) % 6) + 1) AS model_,
    multiIf(t % 10000 = 777, 'run_tests', t % 200 = 7, 'run_migrations',
            arrayElement(['web_search', 'read_file', 'run_sql', 'get_ticket', 'send_email', 'vector_search'], toUInt32(h % 6) + 1)) AS tool,
    ${opts.t0Expr} + i * 150000000 AS start_ns,
    -- the root spans the whole tree; agents span their block; calls take 0.1-3 s
    multiIf(i = 0, ${spansPerTrace} * 150000000 + 500000000, cat = 'agent', 5 * 150000000, 100000000 + (h % 2900) * 1000000) AS dur_ns
  FROM numbers(${count})
)`;
}

/** Inserts the read data set; returns the number of spans inserted. */
export async function generateReadDataset(
  client: ClickHouseClient,
  opts: { traces: number; spansPerTrace: number; bigTraceSpans: number },
): Promise<number> {
  const total = opts.traces * opts.spansPerTrace;
  // Traces start over the last 7 days, oldest first, as they would have been ingested.
  const nowNs = `toUInt64(toUnixTimestamp64Nano(now64(9)))`;
  const spread = Math.floor((7 * 86400e9) / opts.traces);
  await client.command({
    query: `INSERT INTO spans (${COLUMNS}) ${selectSql({
      count: total,
      spansPerTrace: opts.spansPerTrace,
      traceIdExpr: `lower(hex(MD5(concat('t', toString(t)))))`,
      t0Expr: `(${nowNs} - ${7 * 86400}000000000 + t * ${spread})`,
    })}`,
    // As the server inserts (ingest/serialise.ts): re-sent spans collapse at merge, not inside each insert.
    clickhouse_settings: { max_insert_threads: '2', max_threads: 2, optimize_on_insert: 0 },
  });
  // The large trace: started an hour ago, so it is not on the list's first page.
  await client.command({
    query: `INSERT INTO spans (${COLUMNS}) ${selectSql({
      count: opts.bigTraceSpans,
      spansPerTrace: opts.bigTraceSpans,
      traceIdExpr: `'${BIG_TRACE_ID}'`,
      t0Expr: `(${nowNs} - 3600000000000 - ${opts.bigTraceSpans} * 150000000)`,
    }).replace(/intDiv\(number, \d+\) \+ 0 AS t/, `toUInt64(987654321) AS t`)}`,
  });
  return total + opts.bigTraceSpans;
}

/** A trace number's id (the same function as the SQL's). */
export function traceIdOf(t: number): string {
  return createHash('md5').update(`t${t}`).digest('hex');
}

/** A span id of trace `t` (span `i`), as the SQL makes it. */
export function spanIdOf(t: number, i: number): string {
  return createHash('md5').update(`s${t}:${i}`).digest('hex').slice(0, 16);
}

/**
 * More traces, numbered from `fromTrace`, ingested before `generateReadDataset`'s (which span the last 7 days):
 * spread over the `days` before those, so that the store holds them all within the default retention (30 days)
 * as a store that has kept a month of traces does. Kept for `retentionDays` from their ingest time, so none of
 * them expires while the bench reads them. Returns the spans inserted.
 */
export async function generateHistory(
  client: ClickHouseClient,
  opts: { fromTrace: number; traces: number; spansPerTrace: number; days: number; retentionDays: number },
): Promise<number> {
  const total = opts.traces * opts.spansPerTrace;
  const nowNs = `toUInt64(toUnixTimestamp64Nano(now64(9)))`;
  const spread = Math.floor((opts.days * 86400e9) / opts.traces);
  await client.command({
    query: `INSERT INTO spans (${COLUMNS}) ${selectSql({
      count: total,
      spansPerTrace: opts.spansPerTrace,
      firstTrace: opts.fromTrace,
      retentionDays: opts.retentionDays,
      traceIdExpr: `lower(hex(MD5(concat('t', toString(t)))))`,
      t0Expr: `(${nowNs} - ${7 * 86400}000000000 - (t - ${opts.fromTrace - 1}) * ${spread})`,
    })}`,
    // As the server inserts (ingest/serialise.ts): re-sent spans collapse at merge, not inside each insert.
    clickhouse_settings: { max_insert_threads: '2', max_threads: 2, optimize_on_insert: 0 },
  });
  return total;
}
