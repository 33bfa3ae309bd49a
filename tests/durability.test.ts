import { describe, expect, it } from 'vitest';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { runCanopyExpectingExit, startCanopy } from './helpers/canopy';
import { exporterFor, hex, recordingTracer, send, sendOk, startSpan } from './helpers/otel';
import { getTrace, waitForTrace } from './helpers/api';
import { openStorage } from '../lib/server/storage/storage';
import { loadConfig } from '../lib/server/config';

// Accepted means stored: what got a 200 survives SIGTERM, kill -9 and restarts; overload loses nothing.

function traceOf(spanCount: number, service = 'durable'): ReadableSpan[] {
  const rec = recordingTracer(service);
  const root = startSpan(rec.tracer, 'invoke_agent Batch', { 'gen_ai.operation.name': 'invoke_agent' });
  for (let i = 1; i < spanCount; i++) {
    startSpan(rec.tracer, 'chat gpt-4o', { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': i, 'gen_ai.usage.output_tokens': 1 }, root).end();
  }
  root.end();
  return rec.finished();
}

describe('durability', () => {
  it('answers every in-flight export on SIGTERM, flushes what it accepted and exits 0 within 10 s', async () => {
    const canopy = await startCanopy();
    const batches = Array.from({ length: 40 }, () => traceOf(250));
    const results = batches.map((spans) =>
      fetch(`${canopy.otlpUrl}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: ProtobufTraceSerializer.serializeRequest(spans)! as BodyInit,
      }).then((r) => r.status, () => 0),
    );
    await Promise.race(results); // at least one answered: the rest are in flight or queued
    const stoppedAt = Date.now();
    const code = await canopy.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    const statuses = await Promise.all(results);
    const acked = batches.filter((_, i) => statuses[i] === 200);
    expect(acked.length).toBeGreaterThan(0);
    // Not acknowledged (429 at capacity, 503 while stopping, or refused connection) means retry, never loss.
    expect(statuses.every((s) => [200, 429, 503, 0].includes(s))).toBe(true);

    const restarted = await startCanopy({ dataDir: canopy.dataDir });
    try {
      for (const spans of acked) {
        const detail = await getTrace(restarted.url, hex(spans[0]).traceId);
        expect(detail?.trace.spanCount).toBe(250);
      }
    } finally {
      await restarted.stop();
    }
  });

  it('loses nothing it acknowledged when killed with SIGKILL, and restarts with the data intact', async () => {
    const canopy = await startCanopy();
    const spans = traceOf(50);
    await sendOk(exporterFor(canopy.otlpUrl), spans);
    await canopy.kill();
    expect(canopy.output()).toMatch(/"event":"migrated","applied":\["001_spans.sql","002_traces.sql"/);
    const restarted = await startCanopy({ dataDir: canopy.dataDir });
    try {
      expect(restarted.output()).not.toMatch(/"event":"migrated"/); // migrations are applied once
      const detail = await waitForTrace(restarted.url, hex(spans[0]).traceId, 50, 5_000);
      expect(detail.trace).toMatchObject({ spanCount: 50, inputTokens: (49 * 50) / 2, outputTokens: 49 });
    } finally {
      await restarted.stop();
    }
  });

  it('keeps spans for CANOPY_RETENTION_DAYS through a TTL on the stored rows', async () => {
    const canopy = await startCanopy({ env: { CANOPY_RETENTION_DAYS: '7' } });
    await sendOk(exporterFor(canopy.otlpUrl), traceOf(3));
    expect(await canopy.stop()).toBe(0);
    const storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: canopy.dataDir }));
    try {
      const query = async (sql: string) => (await storage.client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, string>>();
      expect(await query('SELECT DISTINCT retention_days AS d FROM spans')).toEqual([{ d: 7 }]);
      const [{ ddl }] = await query("SELECT create_table_query AS ddl FROM system.tables WHERE name = 'spans'");
      expect(ddl).toMatch(/TTL toDateTime\(ingested_at\) \+ toIntervalDay\(retention_days\)/);
      // The SDK's resource is stored once, with its own retention, and every span points to it.
      const resources = await query("SELECT resource_id AS id, attributes['service.name'] AS service, retention_days AS d FROM resources FINAL");
      expect(resources).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{16}$/), service: 'durable', d: 7 }]);
      expect(await query('SELECT DISTINCT resource_id AS id FROM spans')).toEqual([{ id: resources[0].id }]);
    } finally {
      await storage.close();
    }
  });

  it('refuses a second process on the same data directory with a clear error', async () => {
    const canopy = await startCanopy();
    try {
      const { code, output } = await runCanopyExpectingExit({ CANOPY_DATA_DIR: canopy.dataDir });
      expect(code).toBe(1);
      expect(output).toMatch(/in use by another Canopy process/);
      expect((await fetch(`${canopy.url}/api/health`)).status).toBe(200);
    } finally {
      await canopy.stop();
    }
  });

  it('answers 429 when the queue is full, and the exporters\' own retries then deliver every span', async () => {
    const canopy = await startCanopy({ env: { CANOPY_QUEUE_MAX_ROWS: '1000', CANOPY_BATCH_MAX_ROWS: '1000' } });
    try {
      const batches = Array.from({ length: 30 }, () => traceOf(200, 'overload'));
      const results = await Promise.all(batches.map((spans) => send(exporterFor(canopy.otlpUrl), spans)));
      expect(results.map((r) => r.error?.message ?? r.code)).toEqual(results.map(() => ExportResultCode.SUCCESS));
      const metrics = await (await fetch(`${canopy.url}/metrics`)).text();
      expect(metrics).toMatch(/canopy_otlp_requests_total\{status="429"\} [1-9]/);
      for (const spans of batches) {
        const detail = await getTrace(canopy.url, hex(spans[0]).traceId);
        expect(detail?.trace.spanCount).toBe(200);
      }
    } finally {
      await canopy.stop();
    }
  });
});
