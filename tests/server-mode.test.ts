import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCanopyExpectingExit, startCanopy, type RunningCanopy } from './helpers/canopy';
import { startClickHouseHttp, type ClickHouseHttp } from './helpers/clickhouse-http';
import { exporterFor, hex, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { getJson, listTraces, waitForTrace } from './helpers/api';

// CLICKHOUSE_URL: the same Canopy on a ClickHouse reached over HTTP with the official client, user and
// password from the environment, instead of the embedded engine.

const AUTH = { user: 'canopy', password: 's3cret!' };
let ch: ClickHouseHttp;
let canopy: RunningCanopy;
const serverEnv = () => ({ CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: AUTH.user, CLICKHOUSE_PASSWORD: AUTH.password });

function agentTree() {
  const rec = recordingTracer('server-mode-agent');
  const root = startSpan(rec.tracer, 'invoke_agent Planner', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' });
  const tool = startSpan(rec.tracer, 'execute_tool search', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' }, root);
  startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1200, 'gen_ai.usage.output_tokens': 300 }, tool).end();
  tool.end();
  startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 800, 'gen_ai.usage.output_tokens': 100 }, root).end();
  root.end();
  return rec.finished();
}

beforeAll(async () => {
  ch = await startClickHouseHttp(AUTH);
  canopy = await startCanopy({ env: serverEnv() });
}, 90_000);

afterAll(async () => {
  await canopy?.stop();
  await ch?.close();
});

describe('server mode (CLICKHOUSE_URL)', () => {
  it('stores through the server: health says so, the tree, tokens and cost read back, rows are on the server', async () => {
    const health = await getJson<{ status: string; storage: string }>(`${canopy.url}/api/health`);
    expect(health.body).toMatchObject({ status: 'ok', storage: 'server' });

    const spans = agentTree();
    const { traceId } = hex(spans[0]);
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    const detail = await waitForTrace(canopy.url, traceId, 4);
    const root = detail.spans.find((s) => s.parentSpanId === null)!;
    expect(root.rollup).toMatchObject({ spanCount: 4, inputTokens: 2000, outputTokens: 400 });
    expect(root.rollup.costUsd).toBeGreaterThan(0);
    expect(detail.spans.find((s) => s.name === 'execute_tool search')?.rollup.inputTokens).toBe(1200);
    const listed = (await listTraces(canopy.url)).traces.find((t) => t.traceId === traceId);
    expect(listed).toMatchObject({ spanCount: 4, inputTokens: 2000, outputTokens: 400, serviceName: 'server-mode-agent' });

    expect((await ch.query(`SELECT count() FROM spans FINAL WHERE trace_id = '${traceId}'`)).trim()).toBe('4');
    expect((await ch.query('SELECT count() FROM resources')).trim()).not.toBe('0');
  });

  it('on restart applies no migration twice and still shows what was stored', async () => {
    const before = await ch.query('SELECT version FROM canopy_migrations ORDER BY version');
    expect(before.trim().split('\n').length).toBeGreaterThanOrEqual(4);
    const traces = (await listTraces(canopy.url)).traces.map((t) => t.traceId);
    expect(await canopy.stop()).toBe(0);
    canopy = await startCanopy({ env: serverEnv() });
    expect(await ch.query('SELECT version FROM canopy_migrations ORDER BY version')).toBe(before);
    expect((await listTraces(canopy.url)).traces.map((t) => t.traceId)).toEqual(traces);
  });

  it('refuses to start with a wrong password, naming the server and its reason', async () => {
    const { code, output } = await runCanopyExpectingExit({ ...serverEnv(), CLICKHOUSE_PASSWORD: 'wrong' });
    expect(code).toBe(1);
    expect(output).toContain(`ClickHouse at ${ch.url}`);
    expect(output).toMatch(/Authentication failed/);
  });
});
