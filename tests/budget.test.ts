// Tree budgets and auto-kill policies in a running Canopy on the real engine (issue 11, parts 3 and 4): a tree
// whose real spend (model calls priced at ingest, each counted once) passes its budget — set through the API,
// by the attribute canopy.budget.usd, or by default — is killed with reason `budget` within 2 s, with a
// `budget` alert delivered to a real webhook receiver; a detector alert kills its branch when its rule's policy
// enforces, and only records what it would have killed when it observes.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span, Tracer } from '@opentelemetry/api';
import type { Alert, ControlAnswer, Kill, TraceDetailResponse, TreeBudget } from '../lib/domain';
import { getJson } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, recordingTracer, sendOk, startSpan, type Exporter } from './helpers/otel';

const JSON_TYPE = { 'content-type': 'application/json' };

/** gpt-4o at 50,000 input and 1,000 output tokens: $0.125 + $0.01 (the bundled price table). */
const CALL_USD = 0.135;

function chat(tracer: Tracer, parent: Span): Span {
  return startSpan(tracer, 'chat gpt-4o', {
    'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 50_000, 'gen_ai.usage.output_tokens': 1_000,
  }, parent);
}

const agent = (tracer: Tracer, name: string, parent?: Span) =>
  startSpan(tracer, `invoke_agent ${name}`, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name }, parent);

async function startReceiver() {
  const alerts: Alert[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      alerts.push((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alert: Alert }).alert);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, alerts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function control(base: string, traceId: string, spanId?: string): Promise<ControlAnswer> {
  const { status, body } = await getJson<ControlAnswer>(`${base}/api/control/${traceId}${spanId ? `?spanId=${spanId}` : ''}`);
  expect(status).toBe(200);
  return body;
}

async function setBudget(base: string, traceId: string, maxCostUsd: unknown, headers: Record<string, string> = JSON_TYPE) {
  const res = await fetch(`${base}/api/traces/${traceId}/budget`, { method: 'POST', headers, body: JSON.stringify({ maxCostUsd }) });
  return { status: res.status, body: (await res.json()) as { budget: TreeBudget | null; error?: string } };
}

async function alertsOf(base: string, traceId: string): Promise<Alert[]> {
  return (await getJson<{ alerts: Alert[] }>(`${base}/api/alerts?traceId=${traceId}&limit=100`)).body.alerts;
}

/** Sends the spans that ended so far with the stock exporter, then forgets them. */
async function flush(rec: ReturnType<typeof recordingTracer>, exporter: Exporter): Promise<void> {
  const spans = rec.finished();
  rec.reset();
  await sendOk(exporter, spans);
}

/** Ends `n` model calls under `parent` and sends them; resolves when they are stored (acknowledged). */
async function spend(rec: ReturnType<typeof recordingTracer>, exporter: Exporter, parent: Span, n: number): Promise<void> {
  for (let i = 0; i < n; i++) chat(rec.tracer, parent).end();
  await flush(rec, exporter);
}

describe('tree budgets and auto-kill', () => {
  let canopy: RunningCanopy;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let exporter: Exporter;

  beforeAll(async () => {
    receiver = await startReceiver();
    canopy = await startCanopy({ env: { CANOPY_TREE_BUDGET_USD: '1', CANOPY_DETECTOR_TICK_MS: '250', CANOPY_WEBHOOK_URL: receiver.url } });
    exporter = exporterFor(canopy.otlpUrl);
  }, 90_000);
  afterAll(async () => {
    await exporter?.shutdown();
    await canopy?.stop();
    await receiver?.close();
  });

  it('a budget set through the API kills the tree within 2 s of the spend that passes it, with a budget alert on the webhook', async () => {
    const rec = recordingTracer('budget-api');
    const root = agent(rec.tracer, 'Planner');
    const traceId = root.spanContext().traceId;
    // Set before any span arrived: an agent's tree can be given a budget by id.
    const set = await setBudget(canopy.url, traceId, 0.3);
    expect(set.status).toBe(200);
    expect(set.body.budget).toEqual({ maxCostUsd: 0.3, spentUsd: 0, source: 'api' });
    expect((await control(canopy.url, traceId)).budget).toEqual({ maxCostUsd: 0.3, spentUsd: 0 });

    const worker = agent(rec.tracer, 'Worker', root);
    await spend(rec, exporter, worker, 2); // $0.27: under the budget
    const under = await eventually(async () => {
      const a = await control(canopy.url, traceId);
      return a.budget && a.budget.spentUsd > 0 ? a : undefined;
    }, 10_000, 'the detector to see the spend');
    expect(under.killed).toBe(false);
    expect(under.budget!.spentUsd).toBeCloseTo(2 * CALL_USD, 6);

    await spend(rec, exporter, worker, 1); // $0.405: past it
    const passedAt = Date.now();
    const killed = await eventually(async () => {
      const a = await control(canopy.url, traceId, worker.spanContext().spanId);
      return a.killed ? a : undefined;
    }, 10_000, 'the budget kill');
    expect(Date.now() - passedAt).toBeLessThanOrEqual(2_000);
    expect(killed).toMatchObject({ killed: true, scope: 'tree', reason: 'budget' });

    const detail = (await getJson<TraceDetailResponse>(`${canopy.url}/api/traces/${traceId}`)).body;
    expect(detail.trace).toMatchObject({ killed: true, status: 'killed' });
    const [kill] = detail.kills as Kill[];
    expect(kill).toMatchObject({ scope: 'tree', source: 'budget', reason: 'budget' });
    const alert = (await alertsOf(canopy.url, traceId)).find((a) => a.rule === 'budget')!;
    expect(alert).toMatchObject({ severity: 'critical', status: 'open', autoKill: { mode: 'enforce', action: 'tree', spanId: null, killed: true } });
    expect(alert.evidence.value).toBeCloseTo(3 * CALL_USD, 6);
    expect(alert.evidence.details).toMatchObject({ maxCostUsd: 0.3, source: 'api' });
    expect(kill.alertId).toBe(alert.id);
    const delivered = await eventually(async () => receiver.alerts.find((a) => a.id === alert.id), 10_000, 'the budget alert on the webhook');
    expect(delivered).toMatchObject({ rule: 'budget', autoKill: { mode: 'enforce', killed: true } });
  });

  it('the attribute canopy.budget.usd on the resource sets the budget; the default covers the rest', async () => {
    const rec = recordingTracer('budget-attr', { 'canopy.budget.usd': 0.2 });
    const root = agent(rec.tracer, 'Planner');
    const traceId = root.spanContext().traceId;
    await spend(rec, exporter, root, 2); // $0.27 > $0.20
    const killed = await eventually(async () => {
      const a = await control(canopy.url, traceId);
      return a.killed ? a : undefined;
    }, 10_000, 'the budget kill');
    expect(killed).toMatchObject({ reason: 'budget', budget: { maxCostUsd: 0.2 } });

    // No budget of its own: the default ($1) applies, and $0.27 is under it.
    const plain = recordingTracer('budget-default');
    const other = agent(plain.tracer, 'Planner');
    await spend(plain, exporter, other, 2);
    const seen = await eventually(async () => {
      const a = await control(canopy.url, other.spanContext().traceId);
      return a.budget && a.budget.spentUsd > 0 ? a : undefined;
    }, 10_000, 'the detector to see the spend');
    expect(seen).toMatchObject({ killed: false, budget: { maxCostUsd: 1 } });
    expect(seen.budget!.spentUsd).toBeCloseTo(2 * CALL_USD, 6);
  });

  it('a budget set above the spend is no alert; bad budgets are refused with the field named', async () => {
    const traceId = 'ab'.repeat(16);
    expect((await setBudget(canopy.url, traceId, -1)).status).toBe(400);
    const bad = await setBudget(canopy.url, traceId, 'lots');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/maxCostUsd/);
    expect((await setBudget(canopy.url, 'not-a-trace', 1)).status).toBe(400);
    // A web page cannot set budgets: the write guard refuses a foreign origin.
    expect((await setBudget(canopy.url, traceId, 1, { ...JSON_TYPE, origin: 'https://evil.example' })).status).toBe(403);
    const removed = await setBudget(canopy.url, traceId, null);
    expect(removed.body.budget).toMatchObject({ maxCostUsd: 1, source: 'default' });
  });

  it('auto-kill: an enforcing policy kills the alert\'s branch and names the alert; an observing one records what it would have killed', async () => {
    const put = (autoKill: unknown) => fetch(`${canopy.url}/api/detector/rules`, { method: 'PUT', headers: JSON_TYPE, body: JSON.stringify({ autoKill }) });
    expect((await put({ loop: { mode: 'enforce', warning: 'branch', critical: 'branch' } })).status).toBe(200);

    const loopTree = async (name: string) => {
      const rec = recordingTracer(name);
      const root = agent(rec.tracer, 'Planner');
      const coder = agent(rec.tracer, 'Coder', root);
      const sibling = agent(rec.tracer, 'Reviewer', root);
      for (let i = 0; i < 4; i++) {
        startSpan(rec.tracer, 'execute_tool run_tests', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'run_tests', 'gen_ai.tool.call.arguments': '{"path":"src/"}' }, coder).end();
      }
      await flush(rec, exporter);
      return { traceId: root.spanContext().traceId, coder: coder.spanContext().spanId, sibling: sibling.spanContext().spanId };
    };

    const enforced = await loopTree('autokill-enforce');
    const alert = await eventually(async () => (await alertsOf(canopy.url, enforced.traceId)).find((a) => a.rule === 'loop' && a.autoKill), 10_000, 'the loop alert');
    expect(alert.autoKill).toMatchObject({ mode: 'enforce', action: 'branch', spanId: alert.spanId, killed: true });
    const answer = await control(canopy.url, enforced.traceId, alert.spanId);
    expect(answer).toMatchObject({ killed: true, scope: 'branch', killedSpanId: alert.spanId });
    expect(answer.reason).toMatch(/^auto-kill \(loop, warning\)/);
    const detail = (await getJson<TraceDetailResponse>(`${canopy.url}/api/traces/${enforced.traceId}`)).body;
    expect(detail.kills).toEqual([expect.objectContaining({ source: 'auto', alertId: alert.id, spanId: alert.spanId })]);
    expect((await control(canopy.url, enforced.traceId, enforced.sibling)).killed).toBe(false);

    expect((await put({ loop: { mode: 'observe', warning: 'branch', critical: 'tree' } })).status).toBe(200);
    const observed = await loopTree('autokill-observe');
    const seen = await eventually(async () => (await alertsOf(canopy.url, observed.traceId)).find((a) => a.rule === 'loop' && a.autoKill), 10_000, 'the loop alert');
    expect(seen.autoKill).toMatchObject({ mode: 'observe', action: 'branch', spanId: seen.spanId, severity: 'warning', killed: false });
    expect(Date.parse(seen.autoKill!.at)).toBeGreaterThan(0);
    expect((await control(canopy.url, observed.traceId, seen.spanId)).killed).toBe(false);
    expect((await put({})).status).toBe(200);
  });
});
