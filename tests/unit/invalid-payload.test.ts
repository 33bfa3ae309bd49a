// One export the engine refuses must not fail the exports batched with it (issue 8, item 9). Against the
// real engine: valid payloads in the same group insert are stored and acknowledged, the refused one is
// rejected as invalid (400, never retried by exporters), and storage failures stay retryable (503).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { BatchWriter, InvalidPayloadError } from '../../ingest/batch-writer';
import { engineErrorCode, isDataError } from '../../lib/server/storage/insert-errors';
import { createTraceReceiver } from '../../ingest/receiver';
import { ResourceRegistry } from '../../ingest/resource-registry';
import { StoredExports } from '../../ingest/stored-exports';
import { prepareExport, type PrepareResult } from '../../ingest/prepare';
import { SPAN_ROWS_FORMAT, toSpanRowsPayload } from '../../ingest/serialise';
import type { SpanRow } from '../../ingest/types';
import { openStorage, type Storage } from '../../lib/server/storage/storage';
import { migrate } from '../../lib/server/storage/migrations';
import { loadConfig } from '../../lib/server/config';
import { createMetrics } from '../../lib/server/metrics';
import { defaultPrices } from './otlp-fixtures';

let storage: Storage;
beforeAll(async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-invalid-'));
  storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: dataDir }));
  await migrate(storage.client, path.resolve(import.meta.dirname, '../../migrations'));
});
afterAll(async () => {
  await storage?.close();
});

let traceSeq = 0;
const POISON_TRACE = 'f'.repeat(32);
const newTrace = () => (++traceSeq).toString(16).padStart(32, 'a');

function rows(trace: string, n: number, name = 'span'): SpanRow[] {
  return Array.from({ length: n }, (_, i) => ({
    trace_id: trace,
    span_id: (i + 1).toString(16).padStart(16, '0'),
    parent_span_id: '',
    service_name: 'svc',
    name,
    kind: 1,
    status: 'ok',
    status_message: '',
    start_time: '1700000000000000000',
    end_time: '1700000000000000001',
    category: 'other',
    model: '',
    provider: '',
    input_tokens: i,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cost_usd: null,
    counts_usage: 0,
    agent_name: '',
    tool_name: '',
    session_id: '',
    user_id: '',
    call_signature: '',
    error_type: '',
    attributes: { i: String(i) },
    resource_id: '0'.repeat(16),
    scope_name: '',
    retention_days: 30,
    budget_usd: null,
  }));
}

/** Payloads the engine refuses, each with the error code chDB gives for it. */
const REFUSED = {
  garbage: () => Buffer.from('this is not a row\n'),
  // What a serialiser bug would produce: JSON.stringify keeps a lone surrogate as a \ud83d escape.
  loneSurrogate: () => toSpanRowsPayload(rows(newTrace(), 3, 'half a pair \ud83d')),
  badEnum: () => Buffer.from(toSpanRowsPayload(rows(newTrace(), 2)).toString().replaceAll('"ok"', '"maybe"')),
};

const stored = async (traces: string[]) => {
  const r = await storage.client.query({
    query: 'SELECT trace_id AS t, count() AS n, sum(input_tokens) AS s FROM spans FINAL WHERE trace_id IN {ids:Array(String)} GROUP BY t',
    query_params: { ids: traces },
    format: 'JSONEachRow',
  });
  return Object.fromEntries((await r.json<{ t: string; n: string; s: string }>()).map((x) => [x.t, [Number(x.n), Number(x.s)]]));
};

/** A writer on the spans table that lingers so concurrent writes form one group insert, and logs each insert. */
function spansWriter(insert: (p: Buffer) => Promise<void> = (p) => storage.insertRaw('spans', p, SPAN_ROWS_FORMAT)) {
  const inserts: number[] = [];
  const metrics = createMetrics();
  const writer = new BatchWriter(
    (p) => {
      inserts.push(p.length);
      return insert(p);
    },
    { maxQueueRows: 1e6, maxQueueBytes: 1e9, maxBatchRows: 1e6, minBatchRows: 1e6, maxLingerMs: 150 },
    metrics,
  );
  return { writer, inserts, metrics };
}

const settle = (p: Promise<unknown>) => p.then(() => 'stored' as const, (err: unknown) => err);

describe('a payload the engine refuses, in a busy batch', () => {
  it('the others are stored and resolve; the refused ones reject as invalid; nothing is retried forever', async () => {
    const { writer, inserts, metrics } = spansWriter();
    const good = Array.from({ length: 40 }, (_, i) => ({ trace: newTrace(), n: 1 + (i % 7) }));
    const payloads = good.map((g) => toSpanRowsPayload(rows(g.trace, g.n)));
    const bad = [REFUSED.garbage(), REFUSED.loneSurrogate(), REFUSED.badEnum()];
    // Refused payloads at the start, in the middle and at the end of the group.
    const order = [bad[0], ...payloads.slice(0, 20), bad[1], ...payloads.slice(20), bad[2]];
    const outcomes = await Promise.all(order.map((p) => settle(writer.write(p, 1))));

    expect(inserts[0]).toBe(order.reduce((n, p) => n + p.length, 0)); // all went in as one group insert first
    const badOutcomes = [outcomes[0], outcomes[21], outcomes[outcomes.length - 1]];
    expect(badOutcomes.map((e) => (e instanceof InvalidPayloadError ? e.engineCode : e))).toEqual([27, 25, 691]);
    for (const e of badOutcomes) expect((e as Error).message).toMatch(/refused these spans as invalid data/);
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(40);

    // Every valid payload's rows exactly once, with their own values: retries used each payload's own bytes.
    expect(await stored(good.map((g) => g.trace))).toEqual(Object.fromEntries(good.map((g) => [g.trace, [g.n, (g.n * (g.n - 1)) / 2]])));
    // Halving: a few inserts, far fewer than one per request, and the accounting is back to zero.
    expect(inserts.length).toBeLessThanOrEqual(1 + 2 * bad.length * Math.ceil(Math.log2(order.length))); // 27 measured
    expect(inserts.length).toBeLessThan(order.length);
    expect(writer.depth).toEqual({ rows: 0, bytes: 0 });
    const failures = (await metrics.insertFailures.get()).values[0].value;
    expect(failures).toBeGreaterThanOrEqual(4); // the group, and at least each refused payload alone
  });

  it('writes arriving while the batch is being retried are stored after it, in order', async () => {
    const { writer } = spansWriter();
    const first = newTrace();
    const a = [settle(writer.write(REFUSED.garbage(), 1)), settle(writer.write(toSpanRowsPayload(rows(first, 2)), 2))];
    await new Promise((r) => setTimeout(r, 200)); // the group insert has started
    const later = Array.from({ length: 5 }, () => newTrace());
    const b = later.map((t) => settle(writer.write(toSpanRowsPayload(rows(t, 3)), 3)));
    const [badOutcome, firstOutcome] = await Promise.all(a);
    expect(badOutcome).toBeInstanceOf(InvalidPayloadError);
    expect(firstOutcome).toBe('stored');
    expect(await Promise.all(b)).toEqual(later.map(() => 'stored'));
    expect(Object.keys(await stored([first, ...later])).sort()).toEqual([first, ...later].sort());
    expect(writer.depth).toEqual({ rows: 0, bytes: 0 });
  });

  it('a lone refused payload is rejected as invalid at once, with one insert', async () => {
    const { writer, inserts } = spansWriter();
    await expect(writer.write(REFUSED.garbage(), 1)).rejects.toBeInstanceOf(InvalidPayloadError);
    expect(inserts).toHaveLength(1);
  });
});

describe('storage failures stay retryable (503), and are not retried here', () => {
  it('a missing table fails the whole group with the storage error, in one insert', async () => {
    const { writer, inserts } = spansWriter((p) => storage.insertRaw('no_such_table', p, SPAN_ROWS_FORMAT));
    const outcomes = await Promise.all([REFUSED.garbage(), toSpanRowsPayload(rows(newTrace(), 2)), toSpanRowsPayload(rows(newTrace(), 2))].map((p) => settle(writer.write(p, 1))));
    expect(inserts).toHaveLength(1);
    for (const o of outcomes) {
      expect(o).toBeInstanceOf(Error);
      expect(o).not.toBeInstanceOf(InvalidPayloadError);
      expect(engineErrorCode(o)).toBe(60); // UNKNOWN_TABLE
    }
    expect(writer.depth).toEqual({ rows: 0, bytes: 0 });
  });

  it('storage going down while a refused batch is split: nobody is told their data is invalid', async () => {
    let calls = 0;
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' });
    const { writer } = spansWriter(async (p) => {
      if (calls++ === 0) return storage.insertRaw('spans', p, SPAN_ROWS_FORMAT);
      throw down;
    });
    const outcomes = await Promise.all([REFUSED.garbage(), toSpanRowsPayload(rows(newTrace(), 2)), REFUSED.badEnum()].map((p) => settle(writer.write(p, 1))));
    expect(outcomes).toEqual([down, down, down]);
    expect(calls).toBeGreaterThan(1);
    expect(writer.depth).toEqual({ rows: 0, bytes: 0 });
  });

  it('classification reads chDB, HTTP-client and plain "Code: N." errors; network errors are storage', () => {
    expect(isDataError(Object.assign(new Error('x'), { clickhouseCode: 27 }))).toBe(true);
    expect(isDataError(Object.assign(new Error('x'), { code: '691', type: 'UNKNOWN_ELEMENT_OF_ENUM' }))).toBe(true);
    expect(isDataError(new Error('Code: 26. DB::Exception: Cannot parse JSON string'))).toBe(true);
    expect(isDataError(new Error('Code: 241. DB::Exception: Memory limit exceeded'))).toBe(false);
    expect(isDataError(Object.assign(new Error('x'), { clickhouseCode: 252 }))).toBe(false); // TOO_MANY_PARTS
    expect(isDataError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isDataError('Code: 27.')).toBe(false);
  });
});

describe('through the receiver', () => {
  it('answers 400 to the refused export and 200 to those batched with it, and counts it', async () => {
    const metrics = createMetrics();
    const { writer, inserts } = spansWriter();
    const POISON = 'POISON';
    const prepare = async (body: { bytes: Uint8Array; encoding: 'identity' | 'gzip' | 'deflate' }, format: 'json' | 'protobuf'): Promise<PrepareResult> => {
      if (Buffer.from(body.bytes).toString() === POISON) {
        return { ok: true, prepared: { payload: REFUSED.garbage(), rows: 4, startedPayload: null, startedRows: 0, resources: [], rejectedSpans: 0, rejectReason: '', traceIds: POISON_TRACE } };
      }
      return prepareExport(body.bytes, body.encoding, format, { prices: defaultPrices, retentionDays: 30, maxBodyBytes: 1 << 20, listTraces: () => true });
    };
    // What a detector in the process would be told: the stored exports' traces, never the refused one's.
    const told = new StoredExports();
    const toldTraces: string[] = [];
    const before = Date.now();
    told.onStored((ids, fromMs, whole) => {
      expect(fromMs).toBeGreaterThanOrEqual(before);
      expect(whole).toBe(true);
      toldTraces.push(...(ids.match(/.{32}/g) ?? []));
    });
    const receiver = createTraceReceiver({
      writer,
      startedWriter: spansWriter().writer,
      resources: new ResourceRegistry((p) => storage.insertRaw('resources', p)),
      pool: { prepare, recycle: () => {} },
      metrics,
      maxBodyBytes: 1 << 20,
      maxDecoding: 64,
      maxReceivingBytes: 64 << 20,
      bodyTimeoutMs: 30_000,
      log: () => {},
      stored: told,
    });
    const server = http.createServer((req, res) => void receiver.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/traces`;
    try {
      const traces = Array.from({ length: 12 }, () => newTrace());
      const exportOf = (trace: string) =>
        JSON.stringify({
          resourceSpans: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'batched' } }] },
              scopeSpans: [{ spans: [{ traceId: trace, spanId: '00000000000000a1', name: 'ok', startTimeUnixNano: '1700000000000000000', endTimeUnixNano: '1700000000000000001' }] }],
            },
          ],
        });
      const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const [poisoned, ...ok] = await Promise.all([post(POISON), ...traces.map((t) => post(exportOf(t)))]);

      expect(inserts[0]).toBeGreaterThan(REFUSED.garbage().length); // the poison was batched with others
      expect(poisoned.status).toBe(400);
      expect(((await poisoned.json()) as { message: string }).message).toMatch(/refused these spans as invalid data/);
      expect(ok.map((r) => r.status)).toEqual(traces.map(() => 200));
      expect(Object.keys(await stored(traces)).sort()).toEqual([...traces].sort());
      expect(toldTraces.sort()).toEqual([...traces].sort());
      expect(told.toldThroughMs()).toBeGreaterThanOrEqual(before);
      const rejected = (await metrics.spansRejected.get()).values.find((v) => v.labels.reason === 'invalid_rows');
      expect(rejected?.value).toBe(4);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
