import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, BodyError, type WireBody } from './body';
import { encodeExportResponse, encodeStatus } from './otlp/encode-response';
import { BatchWriter, QueueFullError, WriterClosedError } from './batch-writer';
import type { ResourceRegistry } from './resource-registry';
import type { ExportFormat, PrepareResult } from './prepare';
import { PrepareWorkerStoppedError, type PreparePool } from './prepare-pool';
import type { Metrics } from '../lib/metrics';

export interface ReceiverDeps {
  writer: BatchWriter;
  resources: ResourceRegistry;
  /** Inflate → decode → normalise → serialise, off the event loop, and reuse of the payloads' memory. */
  pool: Pick<PreparePool, 'prepare' | 'recycle'>;
  metrics: Metrics;
  maxBodyBytes: number;
  /** Requests being read, inflated and decoded at once; past it, 429 before reading the body. */
  maxDecoding: number;
  log: (event: Record<string, unknown>) => void;
}

const CONTENT_TYPES: Record<string, ExportFormat> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

/** POST /v1/traces: OTLP/HTTP in, 200 only once every accepted span is stored. */
export function createTraceReceiver(deps: ReceiverDeps) {
  const { writer, metrics } = deps;
  // Memory held before the queue (bodies, inflated bytes, decoded spans) is bounded by this count; what
  // waits for the insert is bounded by the writer's queue.
  let decoding = 0;

  function send(res: ServerResponse, status: number, format: ExportFormat, body: Uint8Array | string, headers: Record<string, string> = {}) {
    metrics.requests.inc({ status: String(status) });
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf',
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(body);
  }

  function fail(res: ServerResponse, status: number, format: ExportFormat, message: string, headers: Record<string, string> = {}) {
    // google.rpc.Status codes: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE.
    const code = status === 429 ? 8 : status >= 500 ? 14 : 3;
    send(res, status, format, encodeStatus(format, code, message), headers);
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const mime = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const format = CONTENT_TYPES[mime];
    if (req.method !== 'POST') {
      req.resume();
      return fail(res, 405, format ?? 'json', 'Use POST to export traces', { allow: 'POST' });
    }
    if (!format) {
      req.resume();
      return fail(res, 415, 'json', `Unsupported Content-Type "${mime}"; send application/x-protobuf or application/json`);
    }
    if (writer.wouldRefuse() || decoding >= deps.maxDecoding) {
      req.resume();
      return fail(res, 429, format, 'Canopy is at capacity; retry later', { 'retry-after': String(writer.retryAfterSeconds()) });
    }

    decoding++;
    let result: PrepareResult;
    try {
      let body: WireBody;
      try {
        body = await readBody(req, deps.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyError) return fail(res, err.status, format, err.message);
        throw err;
      }
      result = await deps.pool.prepare(body, format);
    } catch (err) {
      if (!(err instanceof PrepareWorkerStoppedError)) throw err;
      deps.log({ event: 'prepare_failed', error: err.message });
      return fail(res, 503, format, 'Canopy could not process the export; retry later', { 'retry-after': '1' });
    } finally {
      decoding--;
    }
    if (!result.ok) {
      if (result.undecodable) metrics.spansRejected.inc({ reason: 'undecodable' });
      return fail(res, result.status, format, result.message);
    }
    const prepared = result.prepared;
    if (prepared.rejectedSpans > 0) metrics.spansRejected.inc({ reason: 'invalid' }, prepared.rejectedSpans);
    const rows = prepared.rows;
    const partial = prepared.rejectedSpans > 0 ? { rejectedSpans: prepared.rejectedSpans, errorMessage: prepared.rejectReason } : undefined;

    if (prepared.payload) {
      try {
        await deps.resources.ensure(new Map(prepared.resources.map((r) => [r.resource_id, r])));
        await writer.write(prepared.payload, rows);
      } catch (err) {
        if (err instanceof QueueFullError) {
          metrics.spansRejected.inc({ reason: 'overload' }, rows);
          return fail(res, 429, format, err.message, { 'retry-after': String(err.retryAfterSeconds) });
        }
        if (err instanceof WriterClosedError) return fail(res, 503, format, err.message, { 'retry-after': '5' });
        deps.log({ event: 'insert_failed', error: err instanceof Error ? err.message : String(err) });
        metrics.spansRejected.inc({ reason: 'storage' }, rows);
        return fail(res, 503, format, 'Storage is unavailable; the spans were not stored, retry later', { 'retry-after': '5' });
      } finally {
        // Settled means the insert is over (or never took the bytes): nothing refers to them any more.
        deps.pool.recycle(prepared.payload);
      }
      metrics.spansAccepted.inc(rows);
    }
    send(res, 200, format, encodeExportResponse(format, partial));
  };
}
