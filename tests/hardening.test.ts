import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startCanopy, type RunningCanopy } from './helpers/canopy';
import { startClickHouseHttp } from './helpers/clickhouse-http';
import { exporterFor, hex, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { rawGet, rawRequest } from './helpers/raw-http';
import { RpcStatus } from '../ingest/otlp/schema';
import type { TraceDetailResponse, TraceListResponse } from '../lib/domain';

// Regression tests for the hardening issue: each reproduces what a probe of the running server found,
// against a real Canopy on the real engine, and asserts the right answer now.

const KEY = 'k1-test-key';
const auth = { authorization: `Bearer ${KEY}` };

function agentTrace(service = 'hardening-agent', extra: Record<string, string | number> = {}) {
  const rec = recordingTracer(service);
  const root = startSpan(rec.tracer, 'invoke_agent Planner', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' });
  startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100, 'gen_ai.usage.output_tokens': 10, ...extra }, root).end();
  root.end();
  return rec.finished();
}

const protobufBody = (spans: ReturnType<typeof agentTrace>) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);

function rssBytes(pid: number): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

describe('with API keys: every route is authorised on the path the router uses', () => {
  let canopy: RunningCanopy;
  let traceId: string;
  beforeAll(async () => {
    canopy = await startCanopy({ env: { CANOPY_API_KEYS: KEY } });
    const spans = agentTrace();
    traceId = hex(spans[0]).traceId;
    await sendOk(exporterFor(canopy.otlpUrl, 'proto', auth), spans);
  });
  afterAll(async () => {
    await canopy?.stop();
  });

  it('the key still opens the canonical paths, and the UI pages load without it', async () => {
    expect((await rawGet(canopy.url, '/api/traces?limit=1', auth)).status).toBe(200);
    expect((await rawGet(canopy.url, `/api/traces/${traceId}`, auth)).status).toBe(200);
    expect((await rawGet(canopy.url, '/api/traces?limit=1')).status).toBe(401);
    expect((await rawGet(canopy.url, '/')).status).toBe(200);
  });

  it("a trace page opened without the key carries none of the trace's spans (its rows come through the API, with the key)", async () => {
    const page = await rawGet(canopy.url, `/traces/${traceId}`);
    expect(page.status).toBe(200);
    const html = page.body.toString();
    expect(html).not.toContain('chat gpt-4o');
    expect(html).not.toContain('Planner');
    // Without keys the same page carries its first rows (the next test file's trace page tests read them there).
  });

  // The probe's reproductions and their relatives: none may answer 200 (or any data) without the key.
  const bypasses = (id: () => string) => [
    '/./api/traces?limit=1',
    `/x/../api/traces/${id()}`,
    '/%2e/api/traces?limit=1',
    '/%2E%2E/api/traces?limit=1',
    '/_next/../api/health',
    '/_next/static/../../api/traces?limit=1',
    '/api%2ftraces?limit=1',
    '/api%2Ftraces',
    '//api/traces?limit=1',
    '/api//traces?limit=1',
    '/api\\traces?limit=1',
    '\\api\\traces',
    '/API/traces?limit=1',
    '/Api/Traces?limit=1',
    '/api./traces?limit=1',
    '/api/traces/.',
    '/api/traces/..',
    `/api/traces/${id()}/.`,
    '/api/traces/%2e%2e',
    '/%61pi/traces?limit=1',
    '/api/traces%00?limit=1',
    '/metrics',
    '/./metrics',
    '/METRICS',
    '/v1/../api/traces?limit=1',
    '*',
    'http://127.0.0.1/api/traces?limit=1',
  ];

  it('no dot segment, encoding, doubled slash, backslash or case reaches the API without the key (main port)', async () => {
    for (const target of bypasses(() => traceId)) {
      const res = await rawGet(canopy.url, target);
      expect([400, 401, 404], `${target} → ${res.status}`).toContain(res.status);
      expect(res.body.toString(), target).not.toContain(traceId);
      expect(res.body.toString(), target).not.toContain('"traces"');
      expect(() => JSON.parse(res.body.toString()), `${target} answers JSON`).not.toThrow();
    }
  });

  it('the OTLP port refuses the same tricks and stores nothing without the key', async () => {
    const spans = agentTrace('sneaky-writer');
    const body = protobufBody(spans);
    for (const target of ['/v1/traces', '/./v1/traces', '/v1/./traces', '/x/../v1/traces', '/v1%2ftraces', '//v1/traces', '/V1/traces', '/v1/traces/.', '/%761/traces']) {
      for (const base of [canopy.otlpUrl, canopy.url]) {
        const head = `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
        const res = await rawRequest(base, Buffer.concat([Buffer.from(head), body]));
        expect([400, 401, 404], `${base} ${target} → ${res.status}`).toContain(res.status);
      }
    }
    const check = await rawGet(canopy.url, `/api/traces/${hex(spans[0]).traceId}`, auth);
    expect(check.status).toBe(404);
  });

  it('a protobuf export without the key gets 401 as a protobuf google.rpc.Status (UNAUTHENTICATED), counted in /metrics', async () => {
    const body = protobufBody(agentTrace());
    const res = await fetch(`${canopy.otlpUrl}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    const status = RpcStatus.decode(new Uint8Array(await res.arrayBuffer())) as unknown as { code: number; message: string };
    expect(status.code).toBe(16);
    expect(status.message).toMatch(/API key/);
    const json = await fetch(`${canopy.otlpUrl}/v1/traces`, { method: 'POST', body: Buffer.from(JsonTraceSerializer.serializeRequest(agentTrace())!), headers: { 'content-type': 'application/json' } });
    expect(json.status).toBe(401);
    expect((await json.json()).code).toBe(16);
    const metrics = await (await fetch(`${canopy.url}/metrics`, { headers: auth })).text();
    expect(metrics).toMatch(/canopy_otlp_requests_total\{status="401"\} [1-9]/);
  });

  it('answers 400, not 500, to a raw "GET *" and to a cursor holding an unsafe integer', async () => {
    const star = await rawRequest(canopy.url, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(star.status).toBe(400);
    const cursor = Buffer.from(`9999999999999999:${'a'.repeat(32)}`).toString('base64url');
    const res = await fetch(`${canopy.url}/api/traces?cursor=${cursor}`, { headers: auth });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/cursor/);
  });

  it('an unknown API path is a JSON 404', async () => {
    const res = await fetch(`${canopy.url}/api/no-such-thing`, { headers: auth });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/No API route/);
  });
});

describe('memory, slow clients and numbers, under tight limits', () => {
  let canopy: RunningCanopy;
  const pid = () => canopy.process.pid!;
  beforeAll(async () => {
    canopy = await startCanopy({
      env: {
        CANOPY_TRACE_MAX_BYTES: String(64 * 1024),
        CANOPY_MAX_READS: '2',
        CANOPY_MAX_QUEUED_READS: '4',
        CANOPY_BODY_TIMEOUT_MS: '3000',
        CANOPY_HEADERS_TIMEOUT_MS: '3000',
        CANOPY_MAX_CONNECTIONS_PER_CLIENT: '64',
        CANOPY_MAX_SPANS_PER_EXPORT: '1000',
      },
    });
  });
  afterAll(async () => {
    await canopy?.kill();
  });

  it('a 10 MiB span name is stored cut (with a marker) and the list shows at most a display length of it', async () => {
    const rec = recordingTracer('long-names');
    startSpan(rec.tracer, 'n'.repeat(10 * 1024 * 1024), { 'gen_ai.operation.name': 'chat' }).end();
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    const { traceId } = hex(spans[0]);
    const detail = (await (await fetch(`${canopy.url}/api/traces/${traceId}`)).json()) as TraceDetailResponse;
    expect(detail.spans[0].name.length).toBeLessThan(4096);
    expect(detail.spans[0].name).toMatch(/truncated/);
    const list = (await (await fetch(`${canopy.url}/api/traces?q=${traceId}`)).json()) as TraceListResponse;
    expect(list.traces[0].rootName.length).toBeLessThanOrEqual(256);
  });

  it('an export with more spans than CANOPY_MAX_SPANS_PER_EXPORT gets 413 as a protobuf Status, and nothing of it is stored', async () => {
    const rec = recordingTracer('too-many');
    const root = startSpan(rec.tracer, 'invoke_agent Many', {});
    for (let i = 0; i < 1000; i++) startSpan(rec.tracer, `step ${i}`, {}, root).end();
    root.end();
    const spans = rec.finished();
    const res = await fetch(`${canopy.otlpUrl}/v1/traces`, { method: 'POST', body: protobufBody(spans), headers: { 'content-type': 'application/x-protobuf' } });
    expect(res.status).toBe(413);
    const status = RpcStatus.decode(new Uint8Array(await res.arrayBuffer())) as unknown as { code: number; message: string };
    expect(status.message).toMatch(/more than 1000 spans/);
    expect((await fetch(`${canopy.url}/api/traces/${hex(spans[0]).traceId}`)).status).toBe(404);
    const fits = await fetch(`${canopy.otlpUrl}/v1/traces`, { method: 'POST', body: protobufBody(spans.slice(0, 1000)), headers: { 'content-type': 'application/x-protobuf' } });
    expect(fits.status).toBe(200);
  });

  it('a trace past the detail byte budget answers the spans that fit, says it truncated, and totals still count all', async () => {
    const rec = recordingTracer('big-trace');
    const root = startSpan(rec.tracer, 'invoke_agent Big', { 'gen_ai.operation.name': 'invoke_agent' });
    for (let i = 0; i < 200; i++) startSpan(rec.tracer, `execute_tool t${i}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 't', payload: 'p'.repeat(1024) }, root).end();
    root.end();
    const spans = rec.finished();
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    const res = await fetch(`${canopy.url}/api/traces/${hex(spans[0]).traceId}`);
    expect(res.status).toBe(200);
    const detail = (await res.json()) as TraceDetailResponse;
    expect(detail.truncated).toBe(true);
    expect(detail.spans.length).toBeGreaterThan(0);
    expect(detail.spans.length).toBeLessThan(201);
    expect(detail.trace.spanCount).toBe(201);
  });

  it('500 concurrent list calls are bounded: each is answered 200, or 503/429 with Retry-After; memory stays bounded, the server stays up', async () => {
    for (let i = 0; i < 5; i++) await sendOk(exporterFor(canopy.otlpUrl), agentTrace(`svc-${i}`));
    const before = rssBytes(pid());
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid()))), 20);
    // One connection each, closed after its answer (as 500 separate clients would): fetch's pool would
    // keep them all open afterwards, and an address holding 500 idle connections is refused by design.
    const answers = await Promise.all(
      Array.from({ length: 500 }, () =>
        new Promise<{ status: number; retryAfter: string | undefined; body: { error?: string } }>((resolve, reject) => {
          http.get(`${canopy.url}/api/traces?limit=50`, { agent: false }, (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'], body: JSON.parse(text) }));
          }).on('error', reject);
        }),
      ),
    );
    clearInterval(sampler);
    // 429: connections past CANOPY_MAX_CONNECTIONS_PER_CLIENT; 503: reads past the read gate's queue.
    const statuses = new Set(answers.map((a) => a.status));

    expect([...statuses].every((s) => s === 200 || s === 503 || s === 429)).toBe(true);
    const busy = answers.filter((a) => a.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy.every((a) => /too many reads/.test(a.body.error ?? ''))).toBe(true);
    expect(answers.filter((a) => a.status !== 200).every((a) => Number(a.retryAfter) >= 1)).toBe(true);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(6);
    expect(peak - before).toBeLessThan(400 * 1024 * 1024);
    expect((await fetch(`${canopy.url}/api/traces?limit=5`)).status).toBe(200);
  });

  it('an absurd cost (1e300) never makes a response invalid JSON: every number is finite', async () => {
    const spans = agentTrace('absurd-cost', { 'llm.cost.total': 1e300, 'gen_ai.usage.input_tokens': 1e30 });
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    const { traceId } = hex(spans[0]);
    for (const path of [`/api/traces/${traceId}`, `/api/traces?q=${traceId}`]) {
      const text = await (await fetch(`${canopy.url}${path}`)).text();
      expect(text).not.toMatch(/Infinity|NaN/);
      const walk = (v: unknown): void => {
        if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(JSON.parse(text));
    }
  });

  it('64 clients stalling mid-body do not block valid exports from another client on either port, and are cut off in time', async () => {
    const stalled: net.Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 64; i++) {
      const port = Number(new URL(i % 2 ? canopy.url : canopy.otlpUrl).port);
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
      socket.on('error', () => {});
      socket.resume(); // read the server's answer and its close
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      socket.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 100000\r\n\r\n\n');
      stalled.push(socket);
    }
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    for (const base of [canopy.otlpUrl, canopy.url]) {
      const res = await fetch(`${base}/v1/traces`, { method: 'POST', body: protobufBody(agentTrace('while-stalled')), headers: { 'content-type': 'application/x-protobuf' } });
      expect(res.status).toBe(200);
    }
    expect(Date.now() - started).toBeLessThan(3000);
    // The 65th connection from the stalling address is refused outright.
    const extra = await rawRequest(canopy.url, 'GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n', { localAddress: '127.0.0.2' });
    expect(extra.status).toBe(429);
    expect(extra.headers['retry-after']).toBeTruthy();
    // CANOPY_BODY_TIMEOUT_MS=3000: every stalled request is cut off within a few seconds, not 5 minutes.

    const cutOff = await Promise.race([Promise.all(closed).then(() => true), new Promise((r) => setTimeout(() => r(false), 8000))]);
    stalled.forEach((s) => s.destroy());
    expect(cutOff).toBe(true);
  });

  it('a fatal abort ends the process with a non-zero code instead of hanging in the engine', async () => {
    // Only the Canopy this test started: a pid that has exited may already belong to another process.
    expect(canopy.process.exitCode).toBe(null);
    process.kill(pid(), 'SIGABRT');
    const code = await Promise.race([new Promise((r) => canopy.process.once('exit', (c, sig) => r(c ?? sig))), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
    expect(code).not.toBe('hung');
    expect(code).not.toBe(0);
  });
});

describe('shutting down', () => {
  it('an export arriving while Canopy drains gets 503 as a protobuf google.rpc.Status (UNAVAILABLE) with Retry-After', async () => {
    const canopy = await startCanopy({ env: { CANOPY_BODY_TIMEOUT_MS: '3000' } });
    try {
      const port = Number(new URL(canopy.otlpUrl).port);
      // A: an export whose body stalls keeps the drain waiting (until its body deadline).
      const a = net.connect({ host: '127.0.0.1', port });
      a.on('error', () => {});
      a.resume();
      a.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000\r\n\r\n\n');
      // B: a request already under way (so not an idle connection the drain closes), finished after SIGTERM.
      const body = protobufBody(agentTrace('late-exporter'));
      const b = net.connect({ host: '127.0.0.1', port });
      const answer = new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        b.on('data', (d) => chunks.push(d));
        b.on('close', () => resolve(Buffer.concat(chunks)));
        b.on('error', () => {});
      });
      b.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\n');
      await new Promise((r) => setTimeout(r, 300));
      const exited = canopy.stop();
      await new Promise((r) => setTimeout(r, 300));
      b.write(`Content-Type: application/x-protobuf\r\nContent-Length: ${body.length}\r\n\r\n`);
      b.write(body);
      const raw = await answer;
      const head = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1');
      expect(head).toMatch(/^HTTP\/1.1 503/);
      expect(head).toMatch(/content-type: application\/x-protobuf/i);
      expect(head).toMatch(/retry-after: \d+/i);
      const status = RpcStatus.decode(raw.subarray(raw.indexOf('\r\n\r\n') + 4)) as unknown as { code: number; message: string };
      expect(status.code).toBe(14);
      expect(status.message).toMatch(/shutting down/);
      expect(await exited).toBe(0);
      a.destroy();
    } finally {
      await canopy.kill();
    }
  });
});

describe('storage failures on reads', () => {
  it('a ClickHouse server that goes away makes the API answer 503 JSON with a readable reason, not a bare 500', async () => {
    const ch = await startClickHouseHttp({ user: 'canopy', password: 'pw' });
    const canopy = await startCanopy({ env: { CLICKHOUSE_URL: ch.url, CLICKHOUSE_USER: 'canopy', CLICKHOUSE_PASSWORD: 'pw' } });
    try {
      expect((await fetch(`${canopy.url}/api/traces`)).status).toBe(200);
      await ch.close();
      for (const path of ['/api/traces', `/api/traces/${'a'.repeat(32)}`]) {
        const res = await fetch(`${canopy.url}${path}`);
        expect(res.status, path).toBe(503);
        expect(res.headers.get('retry-after')).toBeTruthy();
        expect((await res.json()).error).toMatch(/Storage could not answer/);
      }
    } finally {
      await canopy.kill();
    }
  });
});
