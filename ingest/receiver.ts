import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, BodyError, ReceiveBudget, type WireBody } from './body';
import { encodeExportResponse, encodeStatus, type PartialSuccess } from './otlp/encode-response';
import { BatchWriter, InvalidPayloadError, QueueFullError, WriterClosedError } from './batch-writer';
import type { ResourceRegistry } from './resource-registry';
import type { ExportFormat, PrepareResult } from './prepare';
import { PrepareWorkerStoppedError, type PreparePool } from './prepare-pool';
import type { Metrics } from '../lib/server/metrics';
import type { StoredExports } from './stored-exports';

export interface ReceiverDeps {
  writer: BatchWriter;
  /** Spans reported at start (lib/domain/started.ts), into their own table. */
  startedWriter: BatchWriter;
  resources: ResourceRegistry;
  /** Inflate → decode → normalise → serialise, off the event loop, and reuse of the payloads' memory. */
  pool: Pick<PreparePool, 'prepare' | 'recycle'>;
  metrics: Metrics;
  maxBodyBytes: number;
  /** Requests being inflated and decoded at once (counted once a body has fully arrived); past it, 429. */
  maxDecoding: number;
  /** Bytes of bodies being received at once, over all requests; past it, 429. */
  maxReceivingBytes: number;
  /** A body must arrive whole within this long after its headers; past it, 408 and the connection closes. */
  bodyTimeoutMs: number;
  log: (event: Record<string, unknown>) => void;
  /** Told of each export's writes: which traces they stored, and when (a detector in this process listens). */
  stored: StoredExports;
}

const CONTENT_TYPES: Record<string, ExportFormat> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

/** The OTLP encoding a request asked for (by its Content-Type), which its answer must use, errors included. */
function requestFormat(req: IncomingMessage): ExportFormat | undefined {
  return CONTENT_TYPES[String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()];
}

// google.rpc.Status codes: 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 14 UNAVAILABLE, 16 UNAUTHENTICATED.
const rpcCode = (status: number) => (status === 401 ? 16 : status === 429 ? 8 : status >= 500 ? 14 : 3);

/** The transport an export arrived over (OTLP/HTTP or OTLP/gRPC), as counted in /metrics. */
export type Transport = 'http' | 'grpc';

/**
 * What became of one export, for its transport to answer in its own terms (an HTTP status, a gRPC code). The
 * statuses are HTTP's; 408 means the client gave up (deadline, cancel) before its spans were queued.
 */
export type ExportOutcome =
  | { ok: true; partial?: PartialSuccess }
  | { ok: false; status: 400 | 408 | 413 | 429 | 503; message: string; retryAfterSeconds?: number; inflatedTooLarge?: boolean };

export interface TraceReceiver {
  /** POST /v1/traces: OTLP/HTTP in, 200 only once every accepted span is stored. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Refuses an export before it is read (no key, shutting down), in the request's encoding, counted. */
  refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers?: Record<string, string>): void;
  /**
   * An export whose bytes another transport has already received whole (still compressed, as on the wire, or
   * inflated): the same bounds, worker pool, queue and writer as OTLP/HTTP, settled only once its spans are
   * stored or refused. Once `signal` has aborted (the client's deadline passed) its spans are no longer
   * queued: the client sends them again.
   */
  accept(message: WireBody, format: ExportFormat, transport: Transport, signal?: AbortSignal): Promise<ExportOutcome>;
}

export function createTraceReceiver(deps: ReceiverDeps): TraceReceiver {
  const { writer, metrics } = deps;
  // Memory held before the queue is bounded by the bytes being received (receiving) and by the count of
  // bodies being inflated and decoded (decoding); what waits for the insert is bounded by the writer's queue.
  const receiving = new ReceiveBudget(deps.maxReceivingBytes);
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
    send(res, status, format, encodeStatus(format, rpcCode(status), message), headers);
  }

  function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) {
    req.resume();
    fail(res, status, requestFormat(req) ?? 'json', message, headers);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const format = requestFormat(req);
    const mime = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (req.method !== 'POST') {
      req.resume();
      return fail(res, 405, format ?? 'json', 'Use POST to export traces', { allow: 'POST' });
    }
    if (!format) {
      req.resume();
      return fail(res, 415, 'json', `Unsupported Content-Type "${mime}"; send application/x-protobuf or application/json`);
    }
    if (writer.wouldRefuse()) return req.resume(), answer(res, format, atCapacity());

    // The body is read before a decoding slot is taken: a client trickling its body in holds only the
    // bytes it has sent (bounded by `receiving`, and in time by the server's request timeout), never a slot.
    let body: WireBody & { release: () => void };
    try {
      body = await readBody(req, deps.maxBodyBytes, receiving, deps.bodyTimeoutMs);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      const headers: Record<string, string> =
        err.status === 429 ? { 'retry-after': String(writer.retryAfterSeconds()) } : err.status === 408 ? { connection: 'close' } : {};
      return fail(res, err.status, format, err.message, headers);
    }
    answer(res, format, await store(body, format, 'http'));
  }

  function answer(res: ServerResponse, format: ExportFormat, outcome: ExportOutcome) {
    if (outcome.ok) return send(res, 200, format, encodeExportResponse(format, outcome.partial));
    const headers: Record<string, string> = outcome.retryAfterSeconds === undefined ? {} : { 'retry-after': String(outcome.retryAfterSeconds) };
    fail(res, outcome.status, format, outcome.message, headers);
  }

  const atCapacity = (message = 'Canopy is at capacity; retry later'): ExportOutcome => ({ ok: false, status: 429, message, retryAfterSeconds: writer.retryAfterSeconds() });

  async function accept(message: WireBody, format: ExportFormat, transport: Transport, signal?: AbortSignal): Promise<ExportOutcome> {
    if (writer.wouldRefuse()) return atCapacity();
    // Bytes the transport holds count like an HTTP body that has arrived, until handed on.
    let held = message.bytes.byteLength;
    if (!receiving.take(held)) return atCapacity('Canopy is receiving too much at once; retry later');
    const release = () => {
      receiving.release(held);
      held = 0;
    };
    return store({ bytes: message.bytes, encoding: message.encoding, release }, format, transport, signal);
  }

  /** Wire bytes that have arrived whole → stored spans: one path for every transport. Releases the body. */
  async function store(body: WireBody & { release: () => void }, format: ExportFormat, transport: Transport, signal?: AbortSignal): Promise<ExportOutcome> {
    const abandoned: ExportOutcome = { ok: false, status: 408, message: 'The client gave up before its spans were stored; nothing was stored' };
    if (signal?.aborted) return body.release(), abandoned;
    if (decoding >= deps.maxDecoding) return body.release(), atCapacity();

    decoding++;
    let result: PrepareResult;
    try {
      result = await deps.pool.prepare(body, format);
    } catch (err) {
      if (!(err instanceof PrepareWorkerStoppedError)) throw err;
      deps.log({ event: 'prepare_failed', error: err.message });
      return { ok: false, status: 503, message: 'Canopy could not process the export; retry later', retryAfterSeconds: 1 };
    } finally {
      decoding--;
      body.release();
    }
    if (!result.ok) {
      if (result.undecodable) metrics.spansRejected.inc({ reason: 'undecodable' });
      return { ok: false, status: result.status, message: result.message, ...(result.inflatedTooLarge && { inflatedTooLarge: true }) };
    }
    const prepared = result.prepared;
    if (prepared.rejectedSpans > 0) metrics.spansRejected.inc({ reason: 'invalid' }, prepared.rejectedSpans);
    const rows = prepared.rows;
    const partial = prepared.rejectedSpans > 0 ? { rejectedSpans: prepared.rejectedSpans, errorMessage: prepared.rejectReason } : undefined;

    const { payload, startedPayload } = prepared;
    if (payload || startedPayload) {
      // Queued after its client gave up, it would cost an insert for spans the client is sending again.
      if (signal?.aborted) return recycle(payload, startedPayload), abandoned;
      const stored = rows + prepared.startedRows;
      try {
        await deps.resources.ensure(new Map(prepared.resources.map((r) => [r.resource_id, r])));
        // Both are stored before the answer: acknowledged means stored, for either kind. Either may be stored
        // and the other refused: what was stored is told of all the same (the exporter's retry stores it again).
        const writing = deps.stored.begin();
        const writes = await Promise.allSettled([payload ? writer.write(payload, rows) : null, startedPayload ? deps.startedWriter.write(startedPayload, prepared.startedRows) : null]);
        let fromMs = Infinity;
        for (const w of writes) if (w.status === 'fulfilled' && w.value !== null) fromMs = Math.min(fromMs, w.value);
        deps.stored.stored(writing, prepared.traceIds, fromMs === Infinity ? null : fromMs, writes.every((w) => w.status === 'fulfilled'));
        for (const w of writes) if (w.status === 'rejected') throw w.reason;
      } catch (err) {
        if (err instanceof QueueFullError) {
          metrics.spansRejected.inc({ reason: 'overload' }, stored);
          return { ok: false, status: 429, message: err.message, retryAfterSeconds: err.retryAfterSeconds };
        }
        if (err instanceof WriterClosedError) return { ok: false, status: 503, message: err.message, retryAfterSeconds: 5 };
        if (err instanceof InvalidPayloadError) {
          // Refused on its own, so retrying cannot help: 400, which exporters do not retry.
          deps.log({ event: 'insert_refused', code: err.engineCode, error: err.engineMessage.slice(0, 1000) });
          metrics.spansRejected.inc({ reason: 'invalid_rows' }, stored);
          return { ok: false, status: 400, message: err.message };
        }
        deps.log({ event: 'insert_failed', error: err instanceof Error ? err.message : String(err) });
        metrics.spansRejected.inc({ reason: 'storage' }, stored);
        return { ok: false, status: 503, message: 'Storage is unavailable; the spans were not stored, retry later', retryAfterSeconds: 5 };
      } finally {
        // Settled means the insert is over (or never took the bytes): nothing refers to them any more.
        recycle(payload, startedPayload);
      }
      metrics.spansAccepted.inc(stored);
      metrics.spansAcceptedByTransport.inc({ transport }, stored);
    }
    return { ok: true, partial };
  }

  function recycle(...payloads: (Uint8Array | null)[]): void {
    for (const p of payloads) if (p) deps.pool.recycle(p);
  }

  return { handle, refuse, accept };
}
