// The server's per-request JS work, stage by stage, in this process: gunzip → decode → normalise → serialise.
// Used (untimed for the baseline) to turn the benchmark's bodies into the exact rows the server writes, and to
// measure µs/span for each stage.

import zlib from 'node:zlib';
import { decodeProtobuf } from '../../ingest/otlp/decode-protobuf';
import { normaliseRequest } from '../../ingest/normalise/index';
import { toJsonEachRow } from '../../ingest/serialise';
import { createPriceBook } from '../../lib/prices';
import type { Body } from './workload';

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
    const payload = toJsonEachRow(rows);
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
