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
/** One sentence to the user: no stack frames, no client log dump. */
function expectOneSentence(output: string) {
  expect(output).not.toMatch(/^\s+at /m);
  expect(output).not.toMatch(/Error: |\[ERROR\]/);
}
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
    expectOneSentence(output);
  });

  it('refuses to start on a database that does not exist, saying to create it (it never creates one itself)', async () => {
    const { code, output } = await runCanopyExpectingExit({ ...serverEnv(), CLICKHOUSE_DATABASE: 'canopy_missing' });
    expect(code).toBe(1);
    expect(output).toContain(
      `canopy: The database canopy_missing does not exist in ClickHouse at ${ch.url}: create it (CREATE DATABASE canopy_missing) or set CLICKHOUSE_DATABASE to an existing database`,
    );
    expectOneSentence(output);
    expect((await ch.query("SELECT count() FROM system.databases WHERE name = 'canopy_missing'")).trim()).toBe('0');
  });

  it('keeps everything in CLICKHOUSE_DATABASE when it is not the default one', async () => {
    await ch.query('CREATE DATABASE IF NOT EXISTS canopy_custom');
    const custom = await startCanopy({ env: { ...serverEnv(), CLICKHOUSE_DATABASE: 'canopy_custom' } });
    try {
      const spans = agentTree();
      const { traceId } = hex(spans[0]);
      await sendOk(exporterFor(custom.otlpUrl), spans);
      const detail = await waitForTrace(custom.url, traceId, 4);
      expect(detail.trace.inputTokens).toBe(2000);
      expect((await ch.query(`SELECT count() FROM canopy_custom.spans FINAL WHERE trace_id = '${traceId}'`)).trim()).toBe('4');
      expect((await ch.query(`SELECT count() FROM canopy_custom.traces WHERE trace_id = '${traceId}'`)).trim()).toBe('1');
      expect((await ch.query('SELECT count() FROM canopy_custom.resources')).trim()).not.toBe('0');
      expect((await ch.query('SELECT count() FROM canopy_custom.canopy_migrations')).trim()).toBe((await ch.query('SELECT count() FROM default.canopy_migrations')).trim());
      // Nothing of it in the default database, which the other Canopy of this file uses.
      expect((await ch.query(`SELECT count() FROM default.spans WHERE trace_id = '${traceId}'`)).trim()).toBe('0');
      expect((await listTraces(canopy.url)).traces.some((t) => t.traceId === traceId)).toBe(false);
    } finally {
      expect(await custom.stop()).toBe(0);
    }
  });
});

describe('the test ClickHouse endpoint holds requests to what a server does', () => {
  const post = async (params: Record<string, string>, sql: string, headers: Record<string, string> = {}) => {
    const auth = `Basic ${Buffer.from(`${AUTH.user}:${AUTH.password}`).toString('base64')}`;
    const res = await fetch(`${ch.url}/?${new URLSearchParams(params)}`, { method: 'POST', body: sql, headers: { authorization: auth, ...headers } });
    return { status: res.status, code: res.headers.get('x-clickhouse-exception-code'), body: (await res.text()).trim() };
  };

  it('an unknown database is refused (81, 404); a known one is the current database of that request only', async () => {
    expect(await post({ database: 'nope' }, 'SELECT 1')).toMatchObject({ status: 404, code: '81', body: expect.stringMatching(/^Code: 81\. .*nope.*UNKNOWN_DATABASE/) });
    expect(await post({}, 'SELECT 1', { 'x-clickhouse-database': 'nope' })).toMatchObject({ status: 404, code: '81' });
    await ch.query('CREATE DATABASE IF NOT EXISTS endpoint_db');
    expect(await post({ database: 'endpoint_db' }, 'SELECT currentDatabase()')).toMatchObject({ status: 200, body: 'endpoint_db' });
    expect(await post({}, 'SELECT currentDatabase()', { 'x-clickhouse-database': 'endpoint_db' })).toMatchObject({ status: 200, body: 'endpoint_db' });
    expect(await post({}, 'SELECT currentDatabase()')).toMatchObject({ status: 200, body: 'default' });
  });

  it('applies URL settings to their request only, and refuses unknown settings (115, 404) and bad values', async () => {
    expect(await post({ max_threads: '3' }, "SELECT getSetting('max_threads')")).toMatchObject({ status: 200, body: '3' });
    expect((await post({}, "SELECT getSetting('max_threads')")).body).not.toBe('3');
    // A setting that changes the result, as the server would apply it.
    expect(await post({ max_result_rows: '1', result_overflow_mode: 'throw' }, 'SELECT number FROM numbers(5)')).toMatchObject({ status: 500, code: '396' });
    expect(await post({}, 'SELECT count() FROM numbers(5)')).toMatchObject({ status: 200, body: '5' });
    expect(await post({ no_such_setting: '1' }, 'SELECT 1')).toMatchObject({ status: 404, code: '115', body: expect.stringMatching(/no_such_setting.*UNKNOWN_SETTING/) });
    expect(await post({ max_threads: 'many' }, 'SELECT 1')).toMatchObject({ code: '27' });
    expect(await post({ session_id: 'x' }, 'SELECT 1')).toMatchObject({ status: 501, code: '48' });
    // The protocol's own parameters are not settings.
    expect(await post({ query_id: 'q1', default_format: 'JSONEachRow' }, 'SELECT 1 AS one')).toMatchObject({ status: 200, body: '{"one":1}' });
  });
});
