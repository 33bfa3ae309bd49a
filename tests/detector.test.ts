// The runaway detector inside a running Canopy, on the real engine: the simulator's runaway scenarios
// (stock OTel SDK, OTLP protobuf) raise alerts with the right rule within seconds, normal trees raise none,
// alerts are deduplicated and escalate in place, they reach a real local webhook receiver signed (retried
// after a 500), a restart re-alerts nothing, and rule settings changed through the API change the outcome.

import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, AlertRule, TraceDetailResponse } from '../lib/domain';
import { getJson, listTraces } from './helpers/api';
import { simulateTrees, type SimulatedTree } from './helpers/sim';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, recordingTracer, sendOk, startSpan } from './helpers/otel';

const SECRET = 'test-secret';
const RUNAWAYS: Record<string, AlertRule> = { loop: 'loop', pingpong: 'pingpong', fanout: 'fanout', cost_spike: 'cost_spike', retry_storm: 'retry_storm' };

type TreeLine = SimulatedTree;

interface Delivery {
  body: { text: string; change: string; url: string; alert: Alert };
  valid: boolean;
}

const simulate = simulateTrees;

/** A real HTTP receiver: answers 500 to the first `failFirst` posts, then 200; verifies each signature. */
async function startReceiver(failFirst: number) {
  const deliveries: Delivery[] = [];
  let posts = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      posts++;
      if (posts <= failFirst) {
        res.writeHead(500).end('not now');
        return;
      }
      const raw = Buffer.concat(chunks);
      const expected = `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
      deliveries.push({ body: JSON.parse(raw.toString('utf8')), valid: req.headers['x-canopy-signature'] === expected });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, deliveries, posts: () => posts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function alertsOf(base: string, traceId: string): Promise<Alert[]> {
  const { status, body } = await getJson<{ alerts: Alert[] }>(`${base}/api/alerts?traceId=${traceId}&limit=500`);
  expect(status).toBe(200);
  return body.alerts;
}

describe('runaway detector in a running Canopy', () => {
  let canopy: RunningCanopy;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let lines: TreeLine[] = [];
  const alertsByTrace = new Map<string, Alert[]>();

  beforeAll(async () => {
    receiver = await startReceiver(1);
    canopy = await startCanopy({ env: { CANOPY_WEBHOOK_URL: receiver.url, CANOPY_WEBHOOK_SECRET: SECRET, CANOPY_PUBLIC_URL: 'http://canopy.example' } });
    lines = await simulate(['--endpoint', canopy.otlpUrl, '--no-kill-check', '--scenario', ['normal', ...Object.keys(RUNAWAYS)].join(','), '--once', '--fast', '--seed', '1']);
    // Every runaway tree alerted with its rule (the simulator's flush and the tick: seconds, not minutes).
    for (const line of lines) {
      const rule = RUNAWAYS[line.scenario];
      if (!rule || line.baselineFor) continue;
      const alerts = await eventually(async () => {
        const found = await alertsOf(canopy.url, line.traceId);
        return found.some((a) => a.rule === rule) ? found : undefined;
      }, 30_000, `a ${rule} alert on the ${line.scenario} tree`);
      alertsByTrace.set(line.traceId, alerts);
    }
  }, 120_000);

  afterAll(async () => {
    await canopy?.stop();
    await receiver?.close();
  });

  it('alerts every runaway tree with the right rule, with a title and evidence', () => {
    for (const line of lines.filter((l) => RUNAWAYS[l.scenario] && !l.baselineFor)) {
      const alert = alertsByTrace.get(line.traceId)!.find((a) => a.rule === RUNAWAYS[line.scenario])!;
      expect(alert.traceId).toBe(line.traceId);
      expect(alert.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(alert.title.length).toBeGreaterThan(10);
      expect(alert.evidence.value).toBeGreaterThanOrEqual(alert.evidence.warningAt);
      expect(['warning', 'critical']).toContain(alert.severity);
      expect(alert.status).toBe('open');
    }
  });

  it('raises nothing on the normal trees', async () => {
    const normal = lines.filter((l) => l.scenario === 'normal' || l.baselineFor);
    expect(normal.length).toBeGreaterThan(0);
    // Give the detector time to judge the last of them.
    await new Promise((r) => setTimeout(r, 2_500));
    for (const line of normal) expect(await alertsOf(canopy.url, line.traceId), `${line.scenario} ${line.traceId}`).toEqual([]);
  });

  it('keeps one alert per (tree, rule, branch) and shows them on the trace list and detail', async () => {
    const { body: all } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?limit=500`);
    const keys = all.alerts.map((a) => `${a.traceId}/${a.rule}/${a.spanId}`);
    expect(new Set(keys).size).toBe(keys.length);
    const loop = lines.find((l) => l.scenario === 'loop')!;
    const { body: detail } = await getJson<TraceDetailResponse>(`${canopy.url}/api/traces/${loop.traceId}`);
    expect(detail.alerts.some((a) => a.rule === 'loop')).toBe(true);
    expect(detail.trace.openAlerts).toBe(detail.alerts.filter((a) => a.status === 'open').length);
    const listed = (await listTraces(canopy.url, '?limit=200')).traces.find((t) => t.traceId === loop.traceId)!;
    expect(listed.openAlerts).toBeGreaterThan(0);
    expect(listed.worstAlert).toBe(detail.trace.worstAlert);
    const normal = (await listTraces(canopy.url, '?limit=200')).traces.find((t) => t.traceId === lines.find((l) => l.scenario === 'normal')!.traceId)!;
    expect(normal.openAlerts).toBe(0);
  });

  it('posts each new alert to the webhook once, signed, with a link to the tree, after retrying a 500', async () => {
    const all = [...alertsByTrace.values()].flat();
    await eventually(async () => (receiver.deliveries.length >= all.length ? true : undefined), 15_000, 'every alert delivered');
    expect(receiver.posts()).toBeGreaterThan(receiver.deliveries.length); // the first post got a 500 and was retried
    for (const d of receiver.deliveries) {
      expect(d.valid).toBe(true);
      expect(d.body.url).toBe(`http://canopy.example/traces/${d.body.alert.traceId}?span=${d.body.alert.spanId}`);
      expect(d.body.text).toContain(d.body.url);
    }
    // One delivery per alert and severity: never a flood of duplicates.
    const sent = receiver.deliveries.map((d) => `${d.body.alert.id}/${d.body.alert.severity}`);
    expect(new Set(sent).size).toBe(sent.length);
  });

  it('acknowledges an alert, and filters by status, rule and severity', async () => {
    const loopTrace = lines.find((l) => l.scenario === 'loop')!.traceId;
    const alert = (await alertsOf(canopy.url, loopTrace)).find((a) => a.rule === 'loop')!;
    const ack = await fetch(`${canopy.url}/api/alerts/${alert.id}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(ack.status).toBe(200);
    expect(((await ack.json()) as Alert).status).toBe('acknowledged');
    const { body: one } = await getJson<Alert>(`${canopy.url}/api/alerts/${alert.id}`);
    expect(one.status).toBe('acknowledged');
    const { body: open } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?status=open&rule=loop&limit=500`);
    expect(open.alerts.find((a) => a.id === alert.id)).toBeUndefined();
    const { body: loops } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?rule=loop&limit=500`);
    expect(loops.alerts.length).toBeGreaterThan(0);
    expect(loops.alerts.every((a) => a.rule === 'loop')).toBe(true);
    // Paging newest first: two pages of one hold two different alerts.
    const p1 = await getJson<{ alerts: Alert[]; nextCursor: string | null }>(`${canopy.url}/api/alerts?limit=1`);
    const p2 = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?limit=1&cursor=${p1.body.nextCursor}`);
    expect(p2.body.alerts[0].id).not.toBe(p1.body.alerts[0].id);
    expect(p2.body.alerts[0].firstSeen <= p1.body.alerts[0].firstSeen).toBe(true);
  });

  it('answers bad requests with 400 and unknown alerts with 404', async () => {
    expect((await fetch(`${canopy.url}/api/alerts?rule=nope`)).status).toBe(400);
    expect((await fetch(`${canopy.url}/api/alerts?traceId=xyz`)).status).toBe(400);
    expect((await fetch(`${canopy.url}/api/alerts?cursor=garbage`)).status).toBe(400);
    expect((await fetch(`${canopy.url}/api/alerts/0123456789abcdef`)).status).toBe(404);
    expect((await fetch(`${canopy.url}/api/alerts/not-an-id`)).status).toBe(400);
    expect((await fetch(`${canopy.url}/api/alerts/0123456789abcdef/ack`, { method: 'POST', headers: { 'content-type': 'application/json' } })).status).toBe(404);
    const bad = await fetch(`${canopy.url}/api/detector/rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ loop: { consecutive: 'three' } }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('loop.consecutive');
    const typo = await fetch(`${canopy.url}/api/detector/rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ loops: {} }) });
    expect(typo.status).toBe(400);
    expect((await fetch(`${canopy.url}/api/detector/rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{' })).status).toBe(400);
  });

  it('judges a tree spread over two services and many export requests as one tree', async () => {
    // A planner in one service calls a tool agent in another, which runs the same tool call over and over;
    // each call is exported on its own, as a batch processor under load would.
    const planner = recordingTracer('planner-svc');
    const worker = recordingTracer('worker-svc');
    const plannerOut = exporterFor(canopy.otlpUrl);
    const workerOut = exporterFor(canopy.otlpUrl, 'json');
    const root = startSpan(planner.tracer, 'invoke_agent Planner', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' });
    const agent = startSpan(worker.tracer, 'invoke_agent Fixer', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Fixer' }, root);
    for (let i = 0; i < 6; i++) {
      const call = startSpan(worker.tracer, 'execute_tool run_tests', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'run_tests', 'gen_ai.tool.call.arguments': '{"path":"src/"}' }, agent);
      call.end();
      await sendOk(workerOut, worker.finished());
      worker.reset();
    }
    const traceId = agent.spanContext().traceId;
    const alert = await eventually(async () => (await alertsOf(canopy.url, traceId)).find((a) => a.rule === 'loop'), 15_000, 'a loop alert on the running two-service tree');
    expect(alert.title).toContain('run_tests');
    // The branch is the tool agent's, which has not ended yet (its span is not stored): the id it will have.
    expect(alert.spanId).toBe(agent.spanContext().spanId);
    agent.end();
    root.end();
    await sendOk(workerOut, worker.finished());
    await sendOk(plannerOut, planner.finished());
    const alerts = await eventually(async () => {
      const found = await alertsOf(canopy.url, traceId);
      const detail = await getJson<TraceDetailResponse>(`${canopy.url}/api/traces/${traceId}`);
      return detail.body.spans?.length === 8 ? found : undefined;
    }, 15_000, 'the whole tree stored');
    expect(alerts.filter((a) => a.rule === 'loop')).toHaveLength(1);
  });

  it('escalates one alert in place as a running loop grows, delivering the escalation', async () => {
    const rec = recordingTracer('growing-agent');
    const out = exporterFor(canopy.otlpUrl);
    const agent = startSpan(rec.tracer, 'invoke_agent Poller', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Poller' });
    const traceId = agent.spanContext().traceId;
    const call = () => startSpan(rec.tracer, 'execute_tool get_status', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_status', 'gen_ai.tool.call.arguments': '{"job":42}' }, agent).end();
    for (let i = 0; i < 3; i++) call();
    await sendOk(out, rec.finished());
    rec.reset();
    const warning = await eventually(async () => (await alertsOf(canopy.url, traceId)).find((a) => a.rule === 'loop'), 15_000, 'a loop warning');
    expect(warning.severity).toBe('warning');
    await eventually(async () => (receiver.deliveries.some((d) => d.body.alert.id === warning.id) ? true : undefined), 15_000, 'the warning delivered');
    for (let i = 0; i < 8; i++) call();
    await sendOk(out, rec.finished());
    const critical = await eventually(async () => (await alertsOf(canopy.url, traceId)).find((a) => a.rule === 'loop' && a.severity === 'critical'), 15_000, 'the loop escalated');
    expect(critical.id).toBe(warning.id);
    expect(critical.firstSeen).toBe(warning.firstSeen);
    expect(critical.evidence.spanCount).toBe(11);
    expect((await alertsOf(canopy.url, traceId)).filter((a) => a.rule === 'loop')).toHaveLength(1);
    const sent = await eventually(async () => {
      const mine = receiver.deliveries.filter((d) => d.body.alert.id === warning.id);
      return mine.length === 2 ? mine : undefined;
    }, 15_000, 'the escalation delivered');
    expect(sent.map((d) => [d.body.change, d.body.alert.severity])).toEqual([['new', 'warning'], ['escalated', 'critical']]);
  });

  it('re-alerts nothing after a restart', async () => {
    await eventually(async () => (receiver.deliveries.length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 2_000));
    const delivered = receiver.deliveries.length;
    const { body: before } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?limit=500`);
    expect(await canopy.stop()).toBe(0);
    canopy = await startCanopy({ dataDir: canopy.dataDir, env: { CANOPY_WEBHOOK_URL: receiver.url, CANOPY_WEBHOOK_SECRET: SECRET } });
    await new Promise((r) => setTimeout(r, 4_000));
    const { body: after } = await getJson<{ alerts: Alert[] }>(`${canopy.url}/api/alerts?limit=500`);
    expect(after.alerts.map((a) => `${a.id}/${a.severity}/${a.lastSeen}`).sort()).toEqual(before.alerts.map((a) => `${a.id}/${a.severity}/${a.lastSeen}`).sort());
    expect(receiver.deliveries.length).toBe(delivered);
  });
  it('applies rule settings changed through the API on the next tick', async () => {
    const before = await getJson<{ loop: { consecutive: number; enabled: boolean } }>(`${canopy.url}/api/detector/rules`);
    expect(before.body.loop.consecutive).toBe(3);
    const put = await fetch(`${canopy.url}/api/detector/rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ loop: { enabled: false } }) });
    expect(put.status).toBe(200);
    expect((await getJson<{ loop: { enabled: boolean } }>(`${canopy.url}/api/detector/rules`)).body.loop.enabled).toBe(false);
    await new Promise((r) => setTimeout(r, 1_500));
    const [loop] = (await simulate(['--endpoint', canopy.otlpUrl, '--no-kill-check', '--scenario', 'loop', '--once', '--fast', '--seed', '7'])).filter((l) => !l.baselineFor);
    // The tree is judged (its other rules still run), but raises no loop alert now.
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await alertsOf(canopy.url, loop.traceId)).filter((a) => a.rule === 'loop')).toEqual([]);
    await fetch(`${canopy.url}/api/detector/rules`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
  });


  it('judges a 100,000-span tree without holding up the trees after it', async () => {
    const [huge] = (await simulate(['--endpoint', canopy.otlpUrl, '--no-kill-check', '--scenario', 'huge', '--spans', '100000', '--once', '--fast', '--seed', '2'])).filter((l) => !l.baselineFor);
    const [loop] = (await simulate(['--endpoint', canopy.otlpUrl, '--no-kill-check', '--scenario', 'loop', '--once', '--fast', '--seed', '3'])).filter((l) => !l.baselineFor);
    await eventually(async () => ((await alertsOf(canopy.url, loop.traceId)).some((a) => a.rule === 'loop') ? true : undefined), 30_000, 'the loop tree sent after the huge one alerted');
    // The huge tree was judged whole: 10 workers' fan-out of ~100 children each is past the 20-child limit.
    const judged = await eventually(async () => {
      const metrics = await (await fetch(`${canopy.url}/metrics`)).text();
      const spans = Number(/^canopy_detector_spans_judged_total (\S+)/m.exec(metrics)?.[1] ?? 0);
      return spans >= 100_000 ? spans : undefined;
    }, 60_000, 'the huge tree judged');
    expect(judged).toBeGreaterThanOrEqual(100_000);
    expect((await alertsOf(canopy.url, huge.traceId)).map((a) => a.rule)).toContain('fanout');
    // The API kept answering while it was judged.
    expect((await fetch(`${canopy.url}/api/health`)).status).toBe(200);
  }, 180_000);
});
