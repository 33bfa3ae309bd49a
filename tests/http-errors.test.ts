import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import { ProtobufTraceSerializer, JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { runCanopyExpectingExit, startCanopy, type RunningCanopy } from './helpers/canopy';
import { exporterFor, hex, recordingTracer, send, sendOk, startSpan } from './helpers/otel';
import { getJson, waitForTrace } from './helpers/api';
import { ExportResultCode } from '@opentelemetry/core';

// Bad input gets a clear error and the right status; the process keeps serving afterwards.

let canopy: RunningCanopy;
const LIMIT = 256 * 1024;
beforeAll(async () => {
  canopy = await startCanopy({ env: { CANOPY_MAX_BODY_BYTES: String(LIMIT) } });
});
afterAll(async () => {
  await canopy?.stop();
});

function oneSpanTrace() {
  const rec = recordingTracer();
  startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 3 }).end();
  return rec.finished();
}

const post = (path: string, body: Uint8Array | string, headers: Record<string, string>) =>
  fetch(`${canopy.otlpUrl}${path}`, { method: "POST", body: body as BodyInit, headers });

describe('OTLP receiver status codes', () => {
  it('answers 415 to an unsupported content type', async () => {
    const res = await post('/v1/traces', 'hello', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect((await res.json()).message).toMatch(/Content-Type/);
  });

  it('answers 415 to an unsupported content encoding', async () => {
    const res = await post('/v1/traces', 'x', { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(res.status).toBe(415);
  });

  it('answers 400 with a google.rpc.Status message to an undecodable protobuf body', async () => {
    const res = await post('/v1/traces', new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect(Buffer.from(await res.arrayBuffer()).length).toBeGreaterThan(2);
  });

  it('answers 400 in JSON to invalid JSON and to a body that is not an export request', async () => {
    const bad = await post('/v1/traces', '{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toBeTruthy();
    const wrong = await post('/v1/traces', '{"resourceSpans": 7}', { 'content-type': 'application/json' });
    expect(wrong.status).toBe(400);
  });

  it('answers 400 to a corrupt gzip body', async () => {
    const res = await post('/v1/traces', new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4]), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(400);
  });

  it('answers 413 to a body over the size limit', async () => {
    const res = await post('/v1/traces', 'x'.repeat(LIMIT + 1), { 'content-type': 'application/json' });
    expect(res.status).toBe(413);
  });

  it('refuses a gzip bomb with 413 without inflating all of it', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MiB of spaces → ~64 KiB on the wire
    expect(bomb.length).toBeLessThan(LIMIT);
    const res = await post('/v1/traces', bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect((await res.json()).message).toMatch(/Decompressed/);
  });

  it('answers 405 to a GET on the export path', async () => {
    const res = await fetch(`${canopy.otlpUrl}/v1/traces`);
    expect(res.status).toBe(405);
  });

  it('rejects spans with invalid ids as a partial success and stores the rest', async () => {
    const spans = oneSpanTrace();
    const json = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!));
    const good = json.resourceSpans[0].scopeSpans[0].spans[0];
    json.resourceSpans[0].scopeSpans[0].spans.push({ ...good, spanId: 'not-hex' }, { ...good, traceId: '00000000000000000000000000000000', spanId: 'aaaaaaaaaaaaaaaa' });
    const res = await post('/v1/traces', JSON.stringify(json), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.partialSuccess.rejectedSpans).toBe(2);
    expect(body.partialSuccess.errorMessage).toBeTruthy();
    await waitForTrace(canopy.url, hex(spans[0]).traceId, 1);
  });

  it('answers protobuf requests in protobuf', async () => {
    const body = ProtobufTraceSerializer.serializeRequest(oneSpanTrace())!;
    const res = await post('/v1/traces', body, { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
  });

  it('still serves after all of the above', async () => {
    const spans = oneSpanTrace();
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    await waitForTrace(canopy.url, hex(spans[0]).traceId, 1);
    const health = await getJson<{ status: string; storage: string; version: string }>(`${canopy.url}/api/health`);
    expect(health.body).toMatchObject({ status: 'ok', storage: 'embedded' });
  });

  it('exposes Prometheus metrics for accepted and rejected spans, requests, queue and inserts', async () => {
    const text = await (await fetch(`${canopy.url}/metrics`)).text();
    expect(text).toMatch(/canopy_spans_accepted_total \d+/);
    expect(text).toMatch(/canopy_spans_rejected_total\{reason="invalid"\} 2/);
    expect(text).toMatch(/canopy_otlp_requests_total\{status="413"\} \d+/);
    expect(text).toMatch(/canopy_ingest_queue_rows \d+/);
    expect(text).toMatch(/canopy_insert_batch_rows_count \d+/);
    expect(text).toMatch(/canopy_insert_duration_seconds_bucket/);
  });
});

describe('read API errors', () => {
  it('answers 400 to a malformed trace id and 404 to an unknown one', async () => {
    expect((await getJson(`${canopy.url}/api/traces/xyz`)).status).toBe(400);
    const missing = await getJson<{ error: string }>(`${canopy.url}/api/traces/${'ab'.repeat(16)}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/No trace/);
  });

  it('answers 400 to bad list parameters and to a forged cursor', async () => {
    expect((await getJson(`${canopy.url}/api/traces?limit=-3`)).status).toBe(400);
    expect((await getJson(`${canopy.url}/api/traces?cursor=abc`)).status).toBe(400);
  });
});

describe('authentication', () => {
  it('requires a bearer key on /v1/traces, /api/* and /metrics when CANOPY_API_KEYS is set', async () => {
    const secured = await startCanopy({ env: { CANOPY_API_KEYS: 'k1,k2' } });
    try {
      const spans = oneSpanTrace();
      const denied = await send(exporterFor(secured.otlpUrl), spans);
      expect(denied.code).toBe(ExportResultCode.FAILED);
      expect((await fetch(`${secured.url}/api/traces`)).status).toBe(401);
      expect((await fetch(`${secured.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${secured.url}/metrics`, { headers: { authorization: 'Bearer k1' } })).status).toBe(200);
      expect((await fetch(`${secured.url}/api/traces`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
      await sendOk(exporterFor(secured.otlpUrl, 'proto', { authorization: 'Bearer k2' }), spans);
      const ok = await fetch(`${secured.url}/api/traces/${hex(spans[0]).traceId}`, { headers: { authorization: 'Bearer k1' } });
      expect(ok.status).toBe(200);
    } finally {
      await secured.stop();
    }
  });

  it('refuses to listen on a non-loopback address without API keys', async () => {
    const { code, output } = await runCanopyExpectingExit({ CANOPY_HOST: '0.0.0.0', CANOPY_DATA_DIR: canopy.dataDir + '-unused' });
    expect(code).toBe(1);
    expect(output).toMatch(/CANOPY_API_KEYS/);
  });
});
