// The server's per-request JS work, stage by stage, in this process: gunzip → decode → normalise → serialise.
// Used (untimed for the baseline) to turn the benchmark's bodies into the exact rows the server writes, and to
// measure µs/span for each stage.

import zlib from 'node:zlib';
import { decodeProtobuf } from '../../ingest/otlp/decode-protobuf';
import { normaliseRequest } from '../../ingest/normalise/index';
import * as serialiseModule from '../../ingest/serialise';
import type { SpanRow } from '../../ingest/types';
import type { Storage } from '../../lib/server/storage/storage';
import { createPriceBook } from '../../lib/server/prices';
import type { Body } from './workload';

// Whatever the receiver currently uses to serialise rows, and the matching insert encoding (the ingest code
// moved from JSONEachRow `toJsonEachRow` to JSONCompactEachRow `toSpanRowsPayload` + `SPAN_ROWS_FORMAT`).
const ser = serialiseModule as unknown as Record<string, unknown>;
export const SERIALISER_NAME = typeof ser.toSpanRowsPayload === 'function' ? 'toSpanRowsPayload' : 'toJsonEachRow';
const serialiseRows = (ser.toSpanRowsPayload ?? ser.toJsonEachRow) as (rows: readonly SpanRow[]) => Buffer;
export const ROW_ENCODING = (ser.SPAN_ROWS_FORMAT ?? { format: 'JSONEachRow' }) as { format: 'JSONEachRow' | 'JSONCompactEachRow'; columns?: readonly string[] };

/** The server's insert call for a spans payload (same storage method, same format). */
export function insertSpans(storage: Storage, payload: Buffer): Promise<void> {
  const st = storage as unknown as Record<string, (...a: unknown[]) => Promise<void>>;
  if (typeof st.insertRaw === 'function') return st.insertRaw.call(storage, 'spans', payload, ROW_ENCODING);
  return st.insertJsonEachRow!.call(storage, 'spans', payload);
}

export interface StageTimes {
  spans: number;
  gunzipMs: number;
  decodeMs: number;
  normaliseMs: number;
  serialiseMs: number;
  jsonBytes: number;
}

export interface Payload {
  payload: Buffer;
  rows: number;
}

export interface Prepared {
  /** One JSONEachRow payload per request, exactly what the receiver hands the batch writer. */
  requests: Payload[];
  times: StageTimes;
}

/** Groups whole requests into inserts of at most `batchRows` rows, as the batch writer's group commit does. */
export function* batches(requests: Payload[], batchRows: number): Generator<Payload> {
  let pending: Buffer[] = [];
  let rows = 0;
  for (const r of requests) {
    if (rows > 0 && rows + r.rows > batchRows) {
      yield { payload: Buffer.concat(pending), rows };
      pending = [];
      rows = 0;
    }
    pending.push(r.payload);
    rows += r.rows;
  }
  if (rows > 0) yield { payload: Buffer.concat(pending), rows };
}

/** Runs the server's JS stages over `bodies`, timing each. */
export function prepareRows(bodies: Body[], retentionDays = 30): Prepared {
  const prices = createPriceBook({});
  const ctx = { prices, retentionDays };
  const times: StageTimes = { spans: 0, gunzipMs: 0, decodeMs: 0, normaliseMs: 0, serialiseMs: 0, jsonBytes: 0 };
  const requests: Payload[] = [];
  for (const body of bodies) {
    let t = performance.now();
    const raw = zlib.gunzipSync(body.gz);
    let u = performance.now();
    times.gunzipMs += u - t;
    t = u;
    const decoded = decodeProtobuf(raw);
    u = performance.now();
    times.decodeMs += u - t;
    t = u;
    const rows = normaliseRequest(decoded, ctx);
    u = performance.now();
    times.normaliseMs += u - t;
    t = u;
    const payload = serialiseRows(rows);
    u = performance.now();
    times.serialiseMs += u - t;
    times.spans += rows.length;
    times.jsonBytes += payload.length;
    if (decoded.rejectedSpans > 0) throw new Error(`the decoder rejected ${decoded.rejectedSpans} benchmark spans: ${decoded.rejectReason}`);
    requests.push({ payload, rows: rows.length });
  }
  return { requests, times };
}

export const usPerSpan = (ms: number, spans: number) => (spans > 0 ? (ms * 1000) / spans : NaN);
