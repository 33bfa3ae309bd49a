import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http2 from 'node:http2';
import net from 'node:net';
import zlib from 'node:zlib';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Tracer } from '@opentelemetry/api';
import { Metadata, status as Code } from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, hex, recordingTracer, sendOk, startSpan } from './helpers/otel';
import { findTrace, getJson, waitForTrace } from './helpers/api';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus } from '../ingest/otlp/schema';
import { EXPORT_PATH } from '../ingest/grpc/server';
import { RETRY_INFO_TYPE_URL, RetryInfo, retryDelayMs, STATUS_DETAILS_KEY } from '../ingest/grpc/status';

// OTLP/gRPC against a running Canopy on the real engine, through the stock @opentelemetry/exporter-trace-otlp-grpc
// (configured as users configure it) and, for what that exporter never sends (broken bytes, slow bodies), a
// plain HTTP/2 client speaking gRPC's framing.

type GrpcError = Error & { code?: number; details?: string; metadata?: Metadata };

/** The stock exporter configured only by the OTEL_* environment, as an app started with those variables would be. */
function exporterFromEnv(env: Record<string, string>): GrpcExporter {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return new GrpcExporter();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

const exportSpans = (exporter: GrpcExporter, spans: ReadableSpan[]) => new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

async function exportOk(exporter: GrpcExporter, spans: ReadableSpan[]): Promise<void> {
  const result = await exportSpans(exporter, spans);
  if (result.code !== ExportResultCode.SUCCESS) throw result.error ?? new Error('export failed');
}

/** One export by a new stock exporter pointed at `url`, closed afterwards. */
async function exportOnce(url: string, spans: ReadableSpan[]): Promise<void> {
  const exporter = new GrpcExporter({ url });
  try {
    await exportOk(exporter, spans);
  } finally {
    await exporter.shutdown();
  }
}

function agentTree(tracer: Tracer, model = 'gpt-4o') {
  const root = startSpan(tracer, 'invoke_agent Planner', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' });
  for (const tool of ['search', 'fetch']) {
    const t = startSpan(tracer, `execute_tool ${tool}`, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': tool }, root);
    startSpan(tracer, `chat ${model}`, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': model,
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
    }, t).end();
    t.end();
  }
  root.end();
}

function tree(service: string, model = 'gpt-4o'): ReadableSpan[] {
  const rec = recordingTracer(service);
  agentTree(rec.tracer, model);
  return rec.finished();
}

/** One gRPC message frame: the compressed flag, the length, the bytes. */
function frame(bytes: Uint8Array, compressed = false): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(compressed ? 1 : 0, 0);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

interface RawAnswer {
  code: number;
  message: string;
  headers: http2.IncomingHttpHeaders;
  /** The response message, without its frame header. */
  body: Buffer;
}

/** A unary call over plain HTTP/2 with exactly the bytes given; `end: false` leaves the request body open. */
function rawCall(base: string, body: Buffer, opts: { headers?: http2.OutgoingHttpHeaders; end?: boolean; path?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(base);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': opts.path ?? EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers', ...opts.headers });
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = { ...h }));
    req.on('trailers', (t) => (headers = { ...headers, ...t }));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', reject);
    // The server's half of the stream has ended (after its trailers, or a trailers-only answer): the call is over,
    // whether or not this side finished sending.
    req.on('end', () => {
      req.close();
      session.close();
      resolve({ code: Number(headers['grpc-status']), message: decodeURIComponent(String(headers['grpc-message'] ?? '')), headers, body: Buffer.concat(chunks).subarray(5) });
    });
    req.write(body);
    if (opts.end !== false) req.end();
  });
}

function detailsOf(answer: RawAnswer): { code: number; message: string; details?: { typeUrl: string; value: Uint8Array }[] } | undefined {
  const raw = answer.headers[STATUS_DETAILS_KEY];
  if (raw === undefined) return undefined;
  return RpcStatus.toObject(RpcStatus.decode(Buffer.from(String(raw), 'base64'))) as never;
}

const protobufBody = (spans: ReadableSpan[]) => Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
const metricsText = async (base: string, headers: Record<string, string> = {}) => (await fetch(`${base}/metrics`, { headers })).text();
const counter = (text: string, line: string) => Number(new RegExp(`^${line.replace(/[{}"()]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RetryInfo in grpc-status-details-bin', () => {
  it('encodes google.rpc.Status{code, message, details: [Any(RetryInfo{retry_delay})]} with the googleapis field numbers', async () => {
    const { refusal } = await import('../ingest/grpc/status');
    const status = refusal(Code.RESOURCE_EXHAUSTED, 'busy', 3);
    const raw = (status.metadata as Metadata).get(STATUS_DETAILS_KEY)[0] as Buffer;
    // Status: code = 1 (varint 8), message = 2, details = 3; Any: type_url = 1, value = 2; RetryInfo: retry_delay = 1;
    // Duration: seconds = 1.
    const retryInfo = Buffer.from([0x0a, 0x02, 0x08, 0x03]);
    const any = Buffer.concat([Buffer.from([0x0a, RETRY_INFO_TYPE_URL.length]), Buffer.from(RETRY_INFO_TYPE_URL), Buffer.from([0x12, retryInfo.length]), retryInfo]);
    const expected = Buffer.concat([Buffer.from([0x08, 0x08, 0x12, 0x04]), Buffer.from('busy'), Buffer.from([0x1a, any.length]), any]);
    expect(raw.equals(expected)).toBe(true);
    expect(RetryInfo.decode(retryInfo)).toBeTruthy();
    expect(retryDelayMs(status.metadata as Metadata)).toBe(3000);
    expect(retryDelayMs(refusal(Code.INVALID_ARGUMENT, 'bad').metadata as Metadata)).toBeUndefined();
  });
});

describe('OTLP/gRPC through the stock gRPC exporter', () => {
  let canopy: RunningCanopy;
  const LIMIT = 256 * 1024;
  beforeAll(async () => {
    canopy = await startCanopy({ env: { CANOPY_MAX_BODY_BYTES: String(LIMIT), CANOPY_MAX_SPANS_PER_EXPORT: '1000', CANOPY_BODY_TIMEOUT_MS: '1000' } });
  });
  afterAll(async () => {
    await canopy?.stop();
  });

  it('reports its gRPC address in the listening line, on the host Canopy binds', () => {
    expect(canopy.otlpGrpcUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('stores a tree with tokens, cost, depth and per-branch rollups, the exporter set only by OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const spans = tree('grpc-planner');
    const exporter = exporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: canopy.otlpGrpcUrl });
    try {
      await exportOk(exporter, spans);
    } finally {
      await exporter.shutdown();
    }
    const { traceId } = hex(spans[0]);
    const detail = await waitForTrace(canopy.url, traceId, 5);
    expect(detail.trace).toMatchObject({ spanCount: 5, inputTokens: 2000, outputTokens: 400, maxDepth: 3, unpricedSpans: 0, status: 'completed', serviceName: 'grpc-planner', rootName: 'invoke_agent Planner' });
    expect(detail.trace.costUsd).toBeGreaterThan(0);
    const root = detail.spans.find((s) => s.parentSpanId === null)!;
    expect(root.rollup).toMatchObject({ spanCount: 5, inputTokens: 2000, outputTokens: 400 });
    for (const tool of ['search', 'fetch']) {
      const branch = detail.spans.find((s) => s.toolName === tool)!;
      expect(branch).toMatchObject({ category: 'tool', depth: 1 });
      expect(branch.rollup).toMatchObject({ spanCount: 2, inputTokens: 1000, outputTokens: 200 });
      expect(branch.rollup.costUsd).toBeCloseTo(detail.trace.costUsd / 2, 9);
    }
    expect(await findTrace(canopy.url, traceId)).toMatchObject({ spanCount: 5, inputTokens: 2000, maxDepth: 3 });
  });

  it('takes gzip-compressed exports, and several at once on one connection', async () => {
    const exporter = new GrpcExporter({ url: canopy.otlpGrpcUrl, compression: CompressionAlgorithm.GZIP });
    const trees = Array.from({ length: 8 }, (_, i) => tree(`grpc-gzip-${i}`, 'gpt-4o-mini'));
    try {
      await Promise.all(trees.map((spans) => exportOk(exporter, spans)));
    } finally {
      await exporter.shutdown();
    }
    for (const spans of trees) {
      const detail = await waitForTrace(canopy.url, hex(spans[0]).traceId, 5);
      expect(detail.trace).toMatchObject({ spanCount: 5, inputTokens: 2000, outputTokens: 400 });
    }
  });

  it('takes deflate messages, and uncompressed messages on a call that declares gzip (the flag is per message)', async () => {
    const deflated = tree('grpc-deflate');
    const a = await rawCall(canopy.otlpGrpcUrl, frame(zlib.deflateSync(protobufBody(deflated)), true), { headers: { 'grpc-encoding': 'deflate' } });
    expect(a.code).toBe(Code.OK);
    const plain = tree('grpc-flag-off');
    const b = await rawCall(canopy.otlpGrpcUrl, frame(protobufBody(plain), false), { headers: { 'grpc-encoding': 'gzip' } });
    expect(b.code).toBe(Code.OK);
    await waitForTrace(canopy.url, hex(deflated[0]).traceId, 5);
    await waitForTrace(canopy.url, hex(plain[0]).traceId, 5);
  });

  it('answers an undecodable message INVALID_ARGUMENT (not retried) with the reason, and stores nothing of it', async () => {
    const answer = await rawCall(canopy.otlpGrpcUrl, frame(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    expect(answer.code).toBe(Code.INVALID_ARGUMENT);
    expect(answer.message).toMatch(/protobuf/i);
    expect(detailsOf(answer)).toBeUndefined();
    // Bytes that are valid protobuf but not an export (a span where a resource belongs).
    const wrong = await rawCall(canopy.otlpGrpcUrl, frame(Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0xff])));
    expect(wrong.code).toBe(Code.INVALID_ARGUMENT);
  });

  it('answers spans with invalid ids as a partial success and stores the rest', async () => {
    const spans = tree('grpc-partial');
    const request = ExportTraceServiceRequest.decode(protobufBody(spans)) as unknown as { resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[] };
    const list = request.resourceSpans[0].scopeSpans[0].spans;
    list.push({ ...list[0], spanId: Buffer.from([1, 2, 3]) }, { ...list[0], traceId: Buffer.alloc(16), spanId: Buffer.alloc(8, 0xaa) });
    const answer = await rawCall(canopy.otlpGrpcUrl, frame(ExportTraceServiceRequest.encode(request).finish()));
    expect(answer.code).toBe(Code.OK);
    const response = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(answer.body), { longs: Number }) as { partialSuccess?: { rejectedSpans: number; errorMessage: string } };
    expect(response.partialSuccess?.rejectedSpans).toBe(2);
    expect(response.partialSuccess?.errorMessage).toBeTruthy();
    await waitForTrace(canopy.url, hex(spans[0]).traceId, 5);
  });

  it('answers a full success with an empty ExportTraceServiceResponse, and an empty export OK', async () => {
    const answer = await rawCall(canopy.otlpGrpcUrl, frame(protobufBody(tree('grpc-plain'))));
    expect(answer.code).toBe(Code.OK);
    expect(answer.body.length).toBe(0);
    expect((await rawCall(canopy.otlpGrpcUrl, frame(new Uint8Array(0)))).code).toBe(Code.OK);
  });

  it('refuses a message over CANOPY_MAX_BODY_BYTES (wire or inflated) with RESOURCE_EXHAUSTED without RetryInfo, so it is not retried', async () => {
    const big = await rawCall(canopy.otlpGrpcUrl, frame(Buffer.alloc(LIMIT + 1, 0x20)));
    expect(big.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(detailsOf(big)).toBeUndefined();
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MiB → ~64 KiB on the wire
    expect(bomb.length).toBeLessThan(LIMIT);
    const inflated = await rawCall(canopy.otlpGrpcUrl, frame(bomb, true), { headers: { 'grpc-encoding': 'gzip' } });
    expect(inflated.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(inflated.message).toMatch(/decompresses/);
    expect(detailsOf(inflated)).toBeUndefined();
  });

  it('refuses corrupt gzip without retries, and an export over CANOPY_MAX_SPANS_PER_EXPORT with INVALID_ARGUMENT, storing none of it', async () => {
    // Compressed messages reach the ingest workers still compressed (grpc-js does not inflate them on the
    // event loop): bad gzip is malformed data, INVALID_ARGUMENT, as a bad gzip body is a 400 over HTTP.
    const corrupt = await rawCall(canopy.otlpGrpcUrl, frame(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4]), true), { headers: { 'grpc-encoding': 'gzip' } });
    expect(corrupt.code).toBe(Code.INVALID_ARGUMENT);
    expect(corrupt.message).toMatch(/gzip/);
    const rec = recordingTracer('grpc-too-many');
    const root = startSpan(rec.tracer, 'invoke_agent Many', {});
    for (let i = 0; i < 1000; i++) startSpan(rec.tracer, `step ${i}`, {}, root).end();
    root.end();
    const spans = rec.finished();
    const exporter = new GrpcExporter({ url: canopy.otlpGrpcUrl, compression: CompressionAlgorithm.GZIP });
    try {
      const result = await exportSpans(exporter, spans);
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect((result.error as GrpcError).code).toBe(Code.INVALID_ARGUMENT);
      expect((result.error as GrpcError).details).toMatch(/more than 1000 spans/);
      expect((await fetch(`${canopy.url}/api/traces/${hex(spans[0]).traceId}`)).status).toBe(404);
      await exportOk(exporter, spans.slice(0, 1000));
    } finally {
      await exporter.shutdown();
    }
  });

  it('answers a call to another method UNIMPLEMENTED', async () => {
    const answer = await rawCall(canopy.otlpGrpcUrl, frame(new Uint8Array(0)), { path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export' });
    expect(answer.code).toBe(Code.UNIMPLEMENTED);
  });

  it('cuts off a message that does not arrive within CANOPY_BODY_TIMEOUT_MS, while other exports go through', async () => {
    const started = Date.now();
    const stalled = rawCall(canopy.otlpGrpcUrl, frame(Buffer.alloc(1000)).subarray(0, 20), { end: false });
    await exportOnce(canopy.otlpGrpcUrl, tree('grpc-while-stalled'));
    const answer = await stalled;
    expect(answer.code).toBe(Code.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('survives what is not gRPC on its port: HTTP/1.1, garbage, a connection dropped mid-message', async () => {
    const port = Number(new URL(canopy.otlpGrpcUrl).port);
    const junk = [Buffer.from('POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff))];
    for (const bytes of junk) {
      await new Promise<void>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port }, () => socket.end(bytes));
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        socket.resume();
      });
    }
    const session = http2.connect(canopy.otlpGrpcUrl);
    session.on('error', () => {});
    const req = session.request({ ':method': 'POST', ':path': EXPORT_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    req.write(frame(protobufBody(tree('grpc-dropped'))).subarray(0, 100));
    await sleep(100);
    session.destroy();
    await exportOnce(canopy.otlpGrpcUrl, tree('grpc-after-junk'));
    expect(canopy.process.exitCode).toBe(null);
  });

  it('counts exports in /metrics by transport, and still serves HTTP and gRPC after all of the above', async () => {
    const spans = tree('grpc-last');
    await exportOnce(canopy.otlpGrpcUrl, spans);
    await sendOk(exporterFor(canopy.otlpUrl, 'proto'), tree('http-last'));
    await waitForTrace(canopy.url, hex(spans[0]).traceId, 5);
    const text = await metricsText(canopy.url);
    expect(counter(text, 'canopy_spans_accepted_by_transport_total{transport="grpc"}')).toBeGreaterThanOrEqual(5 * 12);
    expect(counter(text, 'canopy_spans_accepted_by_transport_total{transport="http"}')).toBe(5);
    expect(counter(text, 'canopy_otlp_grpc_requests_total{code="OK"}')).toBeGreaterThanOrEqual(12);
    expect(counter(text, 'canopy_otlp_grpc_requests_total{code="INVALID_ARGUMENT"}')).toBeGreaterThanOrEqual(3);
    expect(counter(text, 'canopy_otlp_grpc_requests_total{code="DEADLINE_EXCEEDED"}')).toBe(1);
    expect(counter(text, 'canopy_otlp_requests_total{status="200"}')).toBe(1);
    const health = await getJson<{ status: string }>(`${canopy.url}/api/health`);
    expect(health.body.status).toBe('ok');
  });
});

describe('OTLP/gRPC with API keys', () => {
  let canopy: RunningCanopy;
  const auth = { authorization: 'Bearer grpc-k2' };
  beforeAll(async () => {
    canopy = await startCanopy({ env: { CANOPY_API_KEYS: 'grpc-k1,grpc-k2' } });
  });
  afterAll(async () => {
    await canopy?.stop();
  });

  it('refuses an export without the key or with a wrong one (UNAUTHENTICATED) and stores nothing of it', async () => {
    const spans = tree('grpc-no-key');
    const refused: Record<string, string>[] = [{}, { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer nope' }, { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=grpc-k1' }];
    for (const env of refused) {
      const exporter = exporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: canopy.otlpGrpcUrl, ...env });
      try {
        const result = await exportSpans(exporter, spans);
        expect(result.code).toBe(ExportResultCode.FAILED);
        expect((result.error as GrpcError).code).toBe(Code.UNAUTHENTICATED);
        expect((result.error as GrpcError).details).toMatch(/API key/);
      } finally {
        await exporter.shutdown();
      }
    }
    await sleep(500);
    expect((await fetch(`${canopy.url}/api/traces/${hex(spans[0]).traceId}`, { headers: auth })).status).toBe(404);
    expect(counter(await metricsText(canopy.url, auth), 'canopy_otlp_grpc_requests_total{code="UNAUTHENTICATED"}')).toBe(3);
  });

  it('stores an export carrying the key, set through OTEL_EXPORTER_OTLP_HEADERS as users set it', async () => {
    const spans = tree('grpc-with-key');
    const exporter = exporterFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: canopy.otlpGrpcUrl, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer grpc-k1' });
    try {
      await exportOk(exporter, spans);
    } finally {
      await exporter.shutdown();
    }
    const res = await fetch(`${canopy.url}/api/traces/${hex(spans[0]).traceId}`, { headers: auth });
    expect(res.status).toBe(200);
    expect((await res.json()).trace).toMatchObject({ spanCount: 5, serviceName: 'grpc-with-key' });
  });
});

describe('OTLP/gRPC under overload, deadlines and shutdown', () => {
  let canopy: RunningCanopy;
  // A tiny queue and a long wait for bigger inserts: a few concurrent exports overflow it.
  const env = { CANOPY_QUEUE_MAX_ROWS: '20', CANOPY_BATCH_MIN_ROWS: '100000', CANOPY_BATCH_LINGER_MS: '1500' };
  beforeAll(async () => {
    canopy = await startCanopy({ env });
  });
  afterAll(async () => {
    await canopy?.kill();
  });

  it('answers RESOURCE_EXHAUSTED with RetryInfo when the queue is full; retried after that delay, every span is delivered', async () => {
    const trees = Array.from({ length: 12 }, (_, i) => tree(`grpc-overload-${i}`));
    const exporter = new GrpcExporter({ url: canopy.otlpGrpcUrl, compression: CompressionAlgorithm.GZIP });
    const refusals: { code?: number; delayMs?: number }[] = [];
    // The OTLP rule (what the Python and Go exporters and the collector do): retry RESOURCE_EXHAUSTED only when it
    // carries RetryInfo, after its delay. The JS gRPC exporter itself reports every gRPC error as final, so the
    // retries are made here, each with the same stock exporter and the same spans.
    const deliver = async (spans: ReadableSpan[]) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const result = await exportSpans(exporter, spans);
        if (result.code === ExportResultCode.SUCCESS) return attempt;
        const err = result.error as GrpcError;
        const delayMs = retryDelayMs(err.metadata);
        refusals.push({ code: err.code, delayMs });
        if (err.code !== Code.RESOURCE_EXHAUSTED || delayMs === undefined) throw err;
        await sleep(delayMs);
      }
      throw new Error('not delivered after 20 attempts');
    };
    try {
      await Promise.all(trees.map(deliver));
    } finally {
      await exporter.shutdown();
    }
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.every((r) => r.code === Code.RESOURCE_EXHAUSTED && r.delayMs! >= 1000)).toBe(true);
    for (const spans of trees) {
      const detail = await waitForTrace(canopy.url, hex(spans[0]).traceId, 5);
      expect(detail.spans).toHaveLength(5);
      expect(detail.trace).toMatchObject({ spanCount: 5, inputTokens: 2000 });
    }
    const text = await metricsText(canopy.url);
    expect(counter(text, 'canopy_otlp_grpc_requests_total{code="RESOURCE_EXHAUSTED"}')).toBe(refusals.length);
    expect(counter(text, 'canopy_otlp_grpc_requests_total{code="OK"}')).toBe(trees.length);
  });

  it('honours the client deadline: a call whose deadline passes before its spans are stored ends DEADLINE_EXCEEDED then, not later', async () => {
    const exporter = new GrpcExporter({ url: canopy.otlpGrpcUrl, timeoutMillis: 400 });
    const started = Date.now();
    try {
      const result = await exportSpans(exporter, tree('grpc-deadline'));
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect((result.error as GrpcError).code).toBe(Code.DEADLINE_EXCEEDED);
    } finally {
      await exporter.shutdown();
    }
    // The insert lingers 1,500 ms for a bigger batch; the call ended at its own deadline.
    expect(Date.now() - started).toBeLessThan(1400);
    await eventuallyCount(canopy.url, 'canopy_otlp_grpc_requests_total{code="DEADLINE_EXCEEDED"}', 1);
  });

  it('drains on SIGTERM: a call under way is answered OK and its spans are stored; a new call is UNAVAILABLE; exit 0', async () => {
    const inFlight = tree('grpc-draining');
    const exporter = new GrpcExporter({ url: canopy.otlpGrpcUrl });
    const answered = exportSpans(exporter, inFlight); // waits ~1.5 s in the writer's linger
    await sleep(300);
    const exited = canopy.stop();
    await sleep(200);
    const late = new GrpcExporter({ url: canopy.otlpGrpcUrl });
    const lateResult = await exportSpans(late, tree('grpc-too-late'));
    expect(lateResult.code).toBe(ExportResultCode.FAILED);
    expect((lateResult.error as GrpcError).code).toBe(Code.UNAVAILABLE);
    expect((await answered).code).toBe(ExportResultCode.SUCCESS);
    await Promise.all([exporter.shutdown(), late.shutdown()]);
    expect(await exited).toBe(0);

    canopy = await startCanopy({ dataDir: canopy.dataDir, env });
    const detail = await waitForTrace(canopy.url, hex(inFlight[0]).traceId, 5);
    expect(detail.trace).toMatchObject({ spanCount: 5, serviceName: 'grpc-draining' });
  });
});

async function eventuallyCount(base: string, line: string, atLeast: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (counter(await metricsText(base), line) >= atLeast) return;
    await sleep(100);
  }
  throw new Error(`${line} never reached ${atLeast}`);
}
