// The kill switch in a running Canopy on the real engine (issue 11, part 1): kill and revive a tree or a branch,
// the control API agents ask, the event stream that pushes kills, the trace detail and list, kills surviving a
// restart and shared by two processes on one ClickHouse server, the write guard without keys, the key with
// keys, and the simulator's live loop stopped by a kill.

import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span, Tracer } from '@opentelemetry/api';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ControlAnswer, Kill, KillEvent, TraceDetailResponse } from '../lib/domain';
import { findTrace, getJson, getTrace, waitForTrace } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { startClickHouseHttp, type ClickHouseHttp } from './helpers/clickhouse-http';
import { openEvents, type EventStream, type SseEvent } from './helpers/events';
import { exporterFor, recordingTracer, sendOk, startSpan, type Exporter } from './helpers/otel';

const ROOT = path.resolve(import.meta.dirname, '..');
const JSON_TYPE = { 'content-type': 'application/json' };

const agent = (tracer: Tracer, name: string, parent?: Span) =>
  startSpan(tracer, `invoke_agent ${name}`, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': name }, parent);
const tool = (tracer: Tracer, name: string, parent: Span) =>
  startSpan(tracer, `execute_tool ${name}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.call.arguments': '{"path":"src/"}' }, parent);
const ids = (span: Span) => span.spanContext();
const randomSpanId = () => Math.floor(Math.random() * 2 ** 48).toString(16).padStart(16, '1');

function kill(base: string, traceId: string, body: Record<string, unknown> = {}, headers: Record<string, string> = JSON_TYPE) {
  return fetch(`${base}/api/traces/${traceId}/kill`, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function killOk(base: string, traceId: string, body: Record<string, unknown> = {}, headers: Record<string, string> = JSON_TYPE): Promise<Kill> {
  const res = await kill(base, traceId, body, headers);
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json as Kill;
}

function revive(base: string, traceId: string, spanId?: string, headers: Record<string, string> = {}) {
  return fetch(`${base}/api/traces/${traceId}/kill${spanId ? `?spanId=${spanId}` : ''}`, { method: 'DELETE', headers });
}

async function control(base: string, traceId: string, spanId?: string, ancestors: string[] = [], headers: Record<string, string> = {}): Promise<ControlAnswer> {
  const q = new URLSearchParams();
  if (spanId) q.set('spanId', spanId);
  if (ancestors.length) q.set('ancestors', ancestors.join(','));
  const { status, body } = await getJson<ControlAnswer>(`${base}/api/control/${traceId}${q.size ? `?${q}` : ''}`, headers);
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
}

const killEvent = (e: SseEvent): KillEvent => JSON.parse(e.data) as KillEvent;
const isEvent = (type: 'kill' | 'revive', traceId: string, spanId: string | null) => (e: SseEvent) =>
  e.event === type && killEvent(e).kill.traceId === traceId && killEvent(e).kill.spanId === spanId;

/** Sends what the tracer recorded as ended so far, then forgets it. */
async function flush(rec: ReturnType<typeof recordingTracer>, exporter: Exporter): Promise<void> {
  const finished = rec.finished();
  rec.reset();
  if (finished.length) await sendOk(exporter, finished);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

describe('kill switch in a running Canopy', () => {
  let canopy: RunningCanopy;
  let exporter: Exporter;
  const streams: EventStream[] = [];

  beforeAll(async () => {
    canopy = await startCanopy();
    exporter = exporterFor(canopy.otlpUrl);
  }, 120_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    await canopy?.stop();
  });

  it('kills a whole tree: the control API, the event stream, the detail and the list all say so', async () => {
    const rec = recordingTracer('kill-tree-agent');
    const root = agent(rec.tracer, 'Planner');
    const { traceId, spanId: rootId } = ids(root);
    tool(rec.tracer, 'search', root).end();
    await flush(rec, exporter);
    await waitForTrace(canopy.url, traceId, 1);
    const stream = await openEvents(`${canopy.url}/api/control/events?traceId=${traceId}`);
    streams.push(stream);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(stream.headers.get('cache-control')).toContain('no-cache');

    expect(await control(canopy.url, traceId, rootId)).toEqual({ killed: false, scope: null, reason: null, killedAt: null, killedSpanId: null, budget: null });
    const record = await killOk(canopy.url, traceId, { reason: 'spent $40 in a loop' });
    expect(record).toMatchObject({ traceId, spanId: null, scope: 'tree', reason: 'spent $40 in a loop', source: 'manual', alertId: null, active: true, revokedAt: null });
    expect(Date.parse(record.createdAt)).toBeGreaterThan(Date.now() - 60_000);

    const answer = await control(canopy.url, traceId, rootId);
    expect(answer).toEqual({ killed: true, scope: 'tree', reason: 'spent $40 in a loop', killedAt: record.createdAt, killedSpanId: null, budget: null });
    // The whole tree: the tree itself, and any span of it, stored or not.
    expect((await control(canopy.url, traceId)).killed).toBe(true);
    expect((await control(canopy.url, traceId, randomSpanId())).scope).toBe('tree');

    const event = await stream.waitFor(isEvent('kill', traceId, null), 5_000, 'the tree kill');
    expect(killEvent(event)).toEqual({ type: 'kill', kill: record });
    expect(event.id).toBeTruthy();

    // Killing it again changes nothing: the same record.
    expect(await killOk(canopy.url, traceId, { reason: 'again' })).toEqual(record);

    root.end();
    await flush(rec, exporter);
    const detail = await waitForTrace(canopy.url, traceId, 2);
    expect(detail.trace.killed).toBe(true);
    expect(detail.trace.status).toBe('killed');
    expect(detail.kills).toEqual([record]);
    for (const span of detail.spans) expect([span.killed, span.killedBy]).toEqual([true, { scope: 'tree', spanId: null }]);
    const listed = await eventually(() => findTrace(canopy.url, traceId), 10_000, 'the killed tree in the list');
    expect(listed.status).toBe('killed');
    expect(listed.killed).toBe(true);
  });

  it('kills a branch: every span below it (stored, running, or started after the kill) and nothing beside it', async () => {
    const rec = recordingTracer('kill-branch-agent');
    const root = agent(rec.tracer, 'ReleaseManager');
    const coder = agent(rec.tracer, 'CodingAgent', root);
    const docs = agent(rec.tracer, 'DocsWriter', root);
    const { traceId, spanId: rootId } = ids(root);
    const coderId = ids(coder).spanId;
    const docsId = ids(docs).spanId;
    const t1 = tool(rec.tracer, 'run_tests', coder);
    const t1Id = ids(t1).spanId;
    t1.end();
    const d1 = tool(rec.tracer, 'read_file', docs);
    const d1Id = ids(d1).spanId;
    d1.end();
    await flush(rec, exporter);
    await waitForTrace(canopy.url, traceId, 2);
    // Unfiltered: one stream per agent process sees every tree's kills.
    const stream = await openEvents(`${canopy.url}/api/control/events`);
    streams.push(stream);

    const record = await killOk(canopy.url, traceId, { spanId: coderId.toUpperCase(), reason: 'run_tests 12 times' });
    expect(record).toMatchObject({ traceId, spanId: coderId, scope: 'branch', reason: 'run_tests 12 times', active: true });
    const killedHere = { killed: true, scope: 'branch', reason: 'run_tests 12 times', killedAt: record.createdAt, killedSpanId: coderId, budget: null };
    // The branch's root (running: never stored yet) and the span stored below it.
    expect(await control(canopy.url, traceId, coderId)).toEqual(killedHere);
    expect(await control(canopy.url, traceId, t1Id)).toEqual(killedHere);
    // A running span below it, not stored: known through the ancestors its agent sends.
    expect(await control(canopy.url, traceId, randomSpanId(), [coderId, rootId])).toEqual(killedHere);
    expect(await control(canopy.url, traceId, randomSpanId(), [t1Id])).toEqual(killedHere);
    // Beside it and above it: alive.
    for (const id of [rootId, docsId, d1Id]) expect((await control(canopy.url, traceId, id)).killed, id).toBe(false);
    expect((await control(canopy.url, traceId)).killed).toBe(false);
    expect((await control(canopy.url, traceId, randomSpanId(), [docsId, rootId])).killed).toBe(false);
    await stream.waitFor(isEvent('kill', traceId, coderId), 5_000, 'the branch kill');

    // Spans started after the kill, reported later: one below the killed branch, one beside it.
    const t2 = tool(rec.tracer, 'run_tests', coder);
    const t2Id = ids(t2).spanId;
    t2.end();
    const d2 = tool(rec.tracer, 'write_file', docs);
    const d2Id = ids(d2).spanId;
    d2.end();
    await flush(rec, exporter);
    await waitForTrace(canopy.url, traceId, 4);
    await eventually(async () => ((await control(canopy.url, traceId, t2Id)).killed ? true : undefined), 5_000, 'the late span to be covered');
    expect(await control(canopy.url, traceId, t2Id)).toEqual(killedHere);
    expect((await control(canopy.url, traceId, d2Id)).killed).toBe(false);

    // The detail while the killed agent still runs: its stored children are orphans, covered through their parent.
    let detail = (await getTrace(canopy.url, traceId))!;
    const byId = (d: TraceDetailResponse, id: string) => d.spans.find((s) => s.spanId === id)!;
    for (const id of [t1Id, t2Id]) expect([byId(detail, id).killed, byId(detail, id).killedBy], id).toEqual([true, { scope: 'branch', spanId: coderId }]);
    for (const id of [d1Id, d2Id]) expect([byId(detail, id).killed, byId(detail, id).killedBy], id).toEqual([false, null]);
    expect(detail.trace.killed).toBe(false);
    expect(detail.kills).toEqual([record]);

    // The agent stops; the rest of the tree finishes.
    coder.setStatus({ code: SpanStatusCode.ERROR, message: 'killed' });
    coder.end();
    docs.end();
    root.end();
    await flush(rec, exporter);
    detail = await waitForTrace(canopy.url, traceId, 7);
    for (const id of [coderId, t1Id, t2Id]) expect(byId(detail, id).killedBy, id).toEqual({ scope: 'branch', spanId: coderId });
    for (const id of [rootId, docsId, d1Id, d2Id]) expect(byId(detail, id).killed, id).toBe(false);
    expect(detail.trace.status).not.toBe('killed');
    expect((await findTrace(canopy.url, traceId))?.killed).toBe(false);
  });

  it('revives a branch: the control API and the event stream say so, and a second revive is a 404', async () => {
    const rec = recordingTracer('revive-agent');
    const root = agent(rec.tracer, 'Planner');
    const worker = agent(rec.tracer, 'Worker', root);
    const step = tool(rec.tracer, 'fetch', worker);
    const { traceId, spanId: rootId } = ids(root);
    const workerId = ids(worker).spanId;
    const stepId = ids(step).spanId;
    step.end();
    await flush(rec, exporter);
    await waitForTrace(canopy.url, traceId, 1);
    const stream = await openEvents(`${canopy.url}/api/control/events?traceId=${traceId}`);
    streams.push(stream);

    await killOk(canopy.url, traceId, { spanId: workerId });
    expect((await control(canopy.url, traceId, stepId)).killed).toBe(true);
    const res = await revive(canopy.url, traceId, workerId);
    expect(res.status).toBe(200);
    const revived = (await res.json()) as Kill;
    expect(revived).toMatchObject({ traceId, spanId: workerId, scope: 'branch', active: false });
    expect(Date.parse(revived.revokedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect((await control(canopy.url, traceId, stepId)).killed).toBe(false);
    expect((await control(canopy.url, traceId, workerId)).killed).toBe(false);
    await stream.waitFor(isEvent('revive', traceId, workerId), 5_000, 'the revive');

    // Nothing left to revive: that branch, another span of this known trace, the tree.
    for (const spanId of [workerId, rootId, undefined]) {
      const again = await revive(canopy.url, traceId, spanId);
      expect(again.status, String(spanId)).toBe(404);
      expect((await again.json()).error).toMatch(/No kill/);
    }
    // Killed again after a revive: in force again.
    await killOk(canopy.url, traceId, { spanId: workerId });
    expect((await control(canopy.url, traceId, stepId)).killed).toBe(true);
    expect((await (await revive(canopy.url, traceId, workerId)).json()).active).toBe(false);
  });

  it('kills a tree before any of its spans arrived, and shows it once they do', async () => {
    const rec = recordingTracer('early-kill-agent');
    const root = agent(rec.tracer, 'Doomed');
    const { traceId, spanId: rootId } = ids(root);
    const stream = await openEvents(`${canopy.url}/api/control/events?traceId=${traceId}`);
    streams.push(stream);
    expect(await getTrace(canopy.url, traceId)).toBeUndefined();
    const record = await killOk(canopy.url, traceId, { reason: 'stop this request' });
    expect((await control(canopy.url, traceId, rootId)).killed).toBe(true);
    await stream.waitFor(isEvent('kill', traceId, null), 5_000, 'the early kill');
    // A stream of one trace opened later starts with the kills in force on it.
    const late = await openEvents(`${canopy.url}/api/control/events?traceId=${traceId}`);
    streams.push(late);
    expect(killEvent(await late.waitFor((e) => e.event === 'kill', 5_000, 'the kill in force')).kill).toEqual(record);

    tool(rec.tracer, 'search', root).end();
    root.end();
    await flush(rec, exporter);
    const detail = await waitForTrace(canopy.url, traceId, 2);
    expect(detail.trace).toMatchObject({ killed: true, status: 'killed' });
    expect(detail.spans.every((s) => s.killed)).toBe(true);
  });

  it('answers 400 to bad ids and bad bodies, and JSON 404 to unknown control paths', async () => {
    const traceId = 'ab'.repeat(16);
    const bad: [string, RequestInit, RegExp][] = [
      [`/api/traces/xyz/kill`, { method: 'POST', headers: JSON_TYPE, body: '{}' }, /traceId/],
      [`/api/traces/${'0'.repeat(32)}/kill`, { method: 'POST', headers: JSON_TYPE, body: '{}' }, /traceId/],
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ spanId: 'zz' }) }, /spanId/],
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ spanId: 12 }) }, /spanId/],
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ span: 'abcdef0123456789' }) }, /span/],
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: JSON_TYPE, body: '{' }, /not JSON/],
      [`/api/traces/${traceId}/kill?spanId=nope`, { method: 'DELETE' }, /spanId/],
      [`/api/traces/nope/kill`, { method: 'DELETE' }, /traceId/],
      [`/api/control/nope`, {}, /traceId/],
      [`/api/control/${traceId}?spanId=123`, {}, /spanId/],
      [`/api/control/${traceId}?spanId=abcdef0123456789&ancestors=abcdef0123456789,x`, {}, /ancestors/],
      [`/api/control/${traceId}?ancestors=${new Array(257).fill('abcdef0123456789').join(',')}`, {}, /ancestors/],
      [`/api/control/events?traceId=short`, {}, /traceId/],
    ];
    for (const [url, init, message] of bad) {
      const res = await fetch(`${canopy.url}${url}`, init);
      const body = await res.json();
      expect(res.status, `${init.method ?? 'GET'} ${url}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error, url).toMatch(message);
    }
    const unknown = await fetch(`${canopy.url}/api/control/${traceId}/more`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toBeTruthy();
  });

  it('without keys, refuses writes a web page could send: a foreign Origin (403), a body not declared JSON (415)', async () => {
    const traceId = 'cd'.repeat(16);
    const own = canopy.url.replace(/\/$/, '');
    const cases: [string, RequestInit, number][] = [
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: { ...JSON_TYPE, origin: 'http://evil.example' }, body: '{}' }, 403],
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: { ...JSON_TYPE, origin: 'null' }, body: '{}' }, 403],
      // A page of another site whose name now points at 127.0.0.1 (DNS rebinding) names itself, not Canopy.
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: { ...JSON_TYPE, origin: `http://evil.example:${new URL(own).port}` }, body: '{}' }, 403],
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }, 415],
      [`/api/traces/${traceId}/kill`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'spanId=1' }, 415],
      [`/api/traces/${traceId}/kill`, { method: 'POST' }, 415],
      [`/api/traces/${traceId}/kill`, { method: 'DELETE', headers: { origin: 'http://evil.example' } }, 403],
      [`/api/detector/rules`, { method: 'PUT', headers: { ...JSON_TYPE, origin: 'http://evil.example' }, body: '{}' }, 403],
      [`/api/detector/rules`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: '{}' }, 415],
      [`/api/alerts/0123456789abcdef/ack`, { method: 'POST', headers: { origin: 'http://evil.example' } }, 403],
      [`/api/alerts/0123456789abcdef/ack`, { method: 'POST', headers: { 'content-type': 'text/plain' } }, 415],
      [`/api/detector/backtest`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }, 415],
    ];
    for (const [url, init, status] of cases) {
      const res = await fetch(`${canopy.url}${url}`, init);
      const body = await res.json();
      expect(res.status, `${init.method} ${url} ${JSON.stringify(init.headers)}: ${JSON.stringify(body)}`).toBe(status);
      expect(body.error).toBeTruthy();
    }
    // None of them killed anything.
    expect((await control(canopy.url, traceId)).killed).toBe(false);
    // Canopy's own page, and a client that sends no Origin (curl, an agent), may.
    expect((await kill(canopy.url, traceId, {}, { ...JSON_TYPE, origin: own })).status).toBe(200);
    expect((await revive(canopy.url, traceId, undefined, { origin: own })).status).toBe(200);
    expect((await fetch(`${canopy.url}/api/alerts/0123456789abcdef/ack`, { method: 'POST', headers: JSON_TYPE })).status).toBe(404);
  });

  it('answers the control API from memory: latency of sequential and 200 concurrent calls', async () => {
    const killedTrace = 'ef'.repeat(16);
    await killOk(canopy.url, killedTrace);
    const time = async (url: string) => {
      const t0 = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      return performance.now() - t0;
    };
    const urls = [`${canopy.url}/api/control/${killedTrace}?spanId=${randomSpanId()}`, `${canopy.url}/api/control/${'12'.repeat(16)}?spanId=${randomSpanId()}`];
    for (let i = 0; i < 50; i++) await time(urls[i % 2]); // warm up the route
    const sequential: number[] = [];
    for (let i = 0; i < 400; i++) sequential.push(await time(urls[i % 2]));
    const concurrent: number[] = [];
    for (let round = 0; round < 5; round++) concurrent.push(...(await Promise.all(Array.from({ length: 200 }, (_, i) => time(urls[i % 2])))));
    sequential.sort((a, b) => a - b);
    concurrent.sort((a, b) => a - b);
    const line = (name: string, xs: number[]) => `${name}: p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms (${xs.length} calls)`;
    console.log(`control API, client-measured on loopback — ${line('sequential', sequential)}; ${line('200 at once', concurrent)}`);
    // A generous bound here (the test machine is shared); the benchmark measures the 5 ms target under ingest.
    expect(percentile(sequential, 50)).toBeLessThan(20);
  });

  it('keeps kills across a restart', async () => {
    const rec = recordingTracer('restart-agent');
    const root = agent(rec.tracer, 'Planner');
    const branch = agent(rec.tracer, 'Worker', root);
    const { traceId } = ids(root);
    const branchId = ids(branch).spanId;
    const treeKilled = 'fa'.repeat(16);
    const branchKill = await killOk(canopy.url, traceId, { spanId: branchId, reason: 'before the restart' });
    const treeKill = await killOk(canopy.url, treeKilled);
    const dataDir = canopy.dataDir;
    for (const s of streams.splice(0)) s.close();
    expect(await canopy.stop()).toBe(0);
    canopy = await startCanopy({ dataDir });
    exporter = exporterFor(canopy.otlpUrl);
    expect(await control(canopy.url, traceId, branchId)).toMatchObject({ killed: true, scope: 'branch', reason: 'before the restart', killedAt: branchKill.createdAt });
    expect(await control(canopy.url, traceId, randomSpanId(), [branchId])).toMatchObject({ killed: true, killedSpanId: branchId });
    expect(await control(canopy.url, treeKilled)).toMatchObject({ killed: true, scope: 'tree', killedAt: treeKill.createdAt });
    expect((await revive(canopy.url, treeKilled)).status).toBe(200);
    expect((await control(canopy.url, treeKilled)).killed).toBe(false);
  }, 120_000);

  it('stops the simulator\'s live loop: the branch within a second, the rest of the tree finishing', async () => {
    const args = ['--endpoint', canopy.otlpUrl, '--api', canopy.url, '--scenario', 'loop', '--once', '--seed', '7'];
    // The same seed plans the same ids: a dry run names the tree and its looping agent before it runs.
    const dry = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args, '--dry-run'], { cwd: ROOT, encoding: 'utf8' });
    expect(dry.status, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout.trim().split('\n').at(-1)!) as { traceId: string; durationMs: number; expect: { loopAgentSpanId: string; repeats: number } };
    const { traceId } = planned;
    const coderId = planned.expect.loopAgentSpanId;

    const simStartedAt = Date.now();
    const sim = spawn(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    sim.stdout.on('data', (d) => (stdout += d));
    sim.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => sim.once('exit', (code) => resolve(code)));
    try {
      // Two turns of the loop stored: the agent is stuck and running.
      await eventually(async () => {
        const detail = await getTrace(canopy.url, traceId);
        return (detail?.spans.filter((s) => s.parentSpanId === coderId && s.toolName === 'run_tests').length ?? 0) >= 2 ? true : undefined;
      }, 30_000, `two run_tests calls of the live loop:\n${stderr}`);
      const killedAt = Date.now();
      await killOk(canopy.url, traceId, { spanId: coderId, reason: 'stuck in a loop' });
      expect(await exited).toBe(0);
      // The rest of the tree went on (its sibling branch, then the root's last step) without waiting for the
      // time the loop would still have taken.
      const ranFor = Date.now() - simStartedAt;
      console.log(`simulator: killed ${killedAt - simStartedAt} ms in, exited after ${ranFor} ms; the tree was planned to take ${planned.durationMs} ms`);
      expect(ranFor).toBeLessThan(planned.durationMs - 20_000);
      const line = JSON.parse(stdout.trim().split('\n').at(-1)!) as { traceId: string; killed: boolean; spans: number; skippedSpans: number };
      expect(line).toMatchObject({ traceId, killed: true });
      expect(line.skippedSpans).toBeGreaterThan(0);

      const detail = await waitForTrace(canopy.url, traceId, line.spans, 20_000);
      const coder = detail.spans.find((s) => s.spanId === coderId)!;
      expect(coder).toMatchObject({ status: 'error', statusMessage: 'killed', killed: true, killedBy: { scope: 'branch', spanId: coderId } });
      const coderIndex = detail.spans.indexOf(coder);
      const below = detail.spans.slice(coderIndex + 1).filter((s, i, all) => all.slice(0, i + 1).every((x) => x.depth > coder.depth));
      expect(below.length).toBeGreaterThan(0);
      expect(below.every((s) => s.killed)).toBe(true);
      // No span of the killed branch started later than a second after the kill.
      const lastStart = Math.max(...below.map((s) => Date.parse(s.startTime)));
      console.log(`simulator: last span of the killed branch started ${lastStart - killedAt} ms after the kill request`);
      expect(lastStart - killedAt).toBeLessThan(1_000);
      // The rest of the tree finished: the root arrived, and nothing outside the branch was killed.
      const root = detail.spans.find((s) => s.parentSpanId === null)!;
      expect(root.killed).toBe(false);
      expect(detail.spans.filter((s) => s.killed).length).toBe(below.length + 1);
      expect(detail.spans.filter((s) => !s.killed && s.status === 'error')).toEqual([]);
      expect(detail.trace.killed).toBe(false);
    } finally {
      if (sim.exitCode === null) sim.kill('SIGKILL');
    }
  }, 120_000);
});

describe('kill switch with API keys', () => {
  let canopy: RunningCanopy;
  const KEY = { authorization: 'Bearer kill-test-key' };
  // A non-loopback address of this machine: there responses are compressed, so the event stream must not be.
  const lan = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  beforeAll(async () => {
    canopy = await startCanopy({ env: { CANOPY_API_KEYS: 'kill-test-key', CANOPY_HOST: lan ? '0.0.0.0' : '127.0.0.1' } });
  }, 120_000);
  afterAll(async () => {
    await canopy?.stop();
  });

  const base = () => (lan ? canopy.url.replace('0.0.0.0', lan) : canopy.url);

  it('needs the key to kill, revive, budget, ask and subscribe (401 without it)', async () => {
    const traceId = '34'.repeat(16);
    const without = [
      await kill(base(), traceId),
      await revive(base(), traceId),
      await fetch(`${base()}/api/traces/${traceId}/budget`, { method: 'POST', headers: JSON_TYPE, body: '{"maxCostUsd":1}' }),
      await fetch(`${base()}/api/control/${traceId}`),
      await fetch(`${base()}/api/control/events`),
      await fetch(`${base()}/api/control/events?traceId=${traceId}`),
    ];
    for (const res of without) {
      expect(res.status, res.url).toBe(401);
      expect((await res.json()).error).toMatch(/API key/);
    }
    expect((await control(base(), traceId, undefined, [], KEY)).killed).toBe(false);
    // With a key, a write from any origin is the key holder's (no page can know the key).
    await killOk(base(), traceId, {}, { ...KEY, ...JSON_TYPE, origin: 'http://elsewhere.example' });
    expect((await control(base(), traceId, undefined, [], KEY)).killed).toBe(true);
    expect((await revive(base(), traceId, undefined, KEY)).status).toBe(200);
  });

  it('never compresses the event stream, where it compresses JSON', async () => {
    if (!lan) return void console.log('no non-loopback IPv4 address: compression is off on loopback, nothing to check');
    const rules = await fetch(`${base()}/api/detector/rules`, { headers: { ...KEY, 'accept-encoding': 'gzip' } });
    expect(rules.headers.get('content-encoding')).toBe('gzip');
    const stream = await openEvents(`${base()}/api/control/events`, { ...KEY, 'accept-encoding': 'gzip' });
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-encoding')).toBeNull();
      const traceId = '56'.repeat(16);
      const t0 = Date.now();
      await killOk(base(), traceId, {}, { ...KEY, ...JSON_TYPE });
      await stream.waitFor(isEvent('kill', traceId, null), 2_000, 'the kill, unbuffered');
      expect(Date.now() - t0).toBeLessThan(2_000);
    } finally {
      stream.close();
    }
  });
});

describe('kill switch across two Canopy processes on one ClickHouse server', () => {
  let ch: ClickHouseHttp;
  let a: RunningCanopy;
  let b: RunningCanopy;

  beforeAll(async () => {
    ch = await startClickHouseHttp({ user: 'canopy', password: 'pw' });
    const env = { CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: 'canopy', CLICKHOUSE_PASSWORD: 'pw', CANOPY_DETECTOR: 'off' };
    a = await startCanopy({ env });
    b = await startCanopy({ env });
  }, 180_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await ch?.close();
  });

  it('a kill posted to one process is enforced by the other within a second, spans reported to either included', async () => {
    const rec = recordingTracer('two-process-agent');
    const root = agent(rec.tracer, 'Planner');
    const worker = agent(rec.tracer, 'Worker', root);
    const { traceId } = ids(root);
    const workerId = ids(worker).spanId;
    const toA = exporterFor(a.otlpUrl);
    const toB = exporterFor(b.otlpUrl);
    tool(rec.tracer, 'search', worker).end();
    await flush(rec, toA);
    await waitForTrace(b.url, traceId, 1);
    const streamB = await openEvents(`${b.url}/api/control/events?traceId=${traceId}`);
    try {
      const t0 = Date.now();
      const record = await killOk(a.url, traceId, { spanId: workerId, reason: 'posted to a' });
      await eventually(async () => ((await control(b.url, traceId, workerId)).killed ? true : undefined), 5_000, 'the kill in the other process');
      const seenAfter = Date.now() - t0;
      console.log(`two processes: the other process's control API answered killed ${seenAfter} ms after the kill request`);
      expect(seenAfter).toBeLessThan(1_500);
      expect(killEvent(await streamB.waitFor(isEvent('kill', traceId, workerId), 3_000, 'the kill on the other process')).kill).toEqual(record);

      // A span started after the kill, below the branch, reported to the other process.
      const late = tool(rec.tracer, 'search', worker);
      const lateId = ids(late).spanId;
      late.end();
      await flush(rec, toB);
      await waitForTrace(a.url, traceId, 2);
      for (const c of [a, b]) {
        await eventually(async () => ((await control(c.url, traceId, lateId)).killed ? true : undefined), 5_000, `the late span covered on ${c.url}`);
      }
      const detail = (await getTrace(b.url, traceId))!;
      expect(detail.spans.find((s) => s.spanId === lateId)?.killedBy).toEqual({ scope: 'branch', spanId: workerId });

      // A budget set through one process is in force in the other's control API within a second.
      const b0 = Date.now();
      const set = await fetch(`${a.url}/api/traces/${traceId}/budget`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ maxCostUsd: 2.5 }) });
      expect(set.status).toBe(200);
      await eventually(async () => ((await control(b.url, traceId)).budget?.maxCostUsd === 2.5 ? true : undefined), 5_000, 'the budget in the other process');
      expect(Date.now() - b0).toBeLessThan(1_500);

      // Revived through the other process: both let it go on.
      expect((await revive(b.url, traceId, workerId)).status).toBe(200);
      await eventually(async () => ((await control(a.url, traceId, workerId)).killed ? undefined : true), 5_000, 'the revive in the first process');
      await streamB.waitFor(isEvent('revive', traceId, workerId), 3_000, 'the revive event');
    } finally {
      streamB.close();
    }
  });
});
