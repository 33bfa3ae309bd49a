import { decodeProtobuf } from './otlp/decode-protobuf';
import { decodeJson } from './otlp/decode-json';
import { OtlpDecodeError, TooManySpansError } from './otlp/errors';
import { normaliseRequest } from './normalise/index';
import { toSpanRowsPayload, type Allocate } from './serialise';
import type { PriceBook } from '../lib/server/prices';
import type { ResourceRow, SpanRow } from './types';
import { STARTED_ATTRIBUTE } from '../lib/domain/started';
import { BodyError, inflateBody, type BodyEncoding } from './body';

export type ExportFormat = 'protobuf' | 'json';

/** One export request made ready for the writer: its rows as insert bytes, and what its response must say. */
export interface PreparedExport {
  /** Ended spans, for `spans`. */
  payload: Uint8Array | null;
  rows: number;
  /** Spans reported at start (lib/domain/started.ts), for `started_spans`. */
  startedPayload: Uint8Array | null;
  startedRows: number;
  resources: ResourceRow[];
  rejectedSpans: number;
  rejectReason: string;
  /**
   * The export's traces (ended and started spans), each once, as 32-hex ids joined without separator; '' unless
   * the context asked for them (`listTraces`: a detector in this process learns of stored trees from ingest).
   */
  traceIds: string;
}

/**
 * Refused: `undecodable` is a body that inflated but is not OTLP (counted as rejected spans); `inflatedTooLarge`
 * a body past maxBodyBytes once inflated (gRPC answers that as a message over its size limit).
 */
export type PrepareResult =
  | { ok: true; prepared: PreparedExport }
  | { ok: false; status: 400 | 413; message: string; undecodable: boolean; inflatedTooLarge?: boolean };

/** Spans one export may hold unless configured (CANOPY_MAX_SPANS_PER_EXPORT). */
export const DEFAULT_MAX_SPANS_PER_EXPORT = 50_000;

export interface PrepareContext {
  prices: PriceBook;
  retentionDays: number;
  /** Largest body after inflating. */
  maxBodyBytes: number;
  /** Most spans one export may hold (413 past it). */
  maxSpans?: number;
  /** Where insert bytes are written; new memory by default. */
  allocate?: Allocate;
  /** Given the ended spans' rows of the export being prepared (the worker keeps what judging its trees needs, and judges them after answering). */
  keepEnded?: (rows: SpanRow[]) => void;
  /** Whether to list the export's traces (PreparedExport.traceIds). */
  listTraces?: () => boolean;
}

/**
 * Wire bytes → inflated → decoded → normalised rows → insert bytes. A body that cannot be inflated or
 * decoded is a result (400 or 413), not a throw.
 */
export function prepareExport(wire: Uint8Array, encoding: BodyEncoding, format: ExportFormat, ctx: PrepareContext): PrepareResult {
  let body: Uint8Array;
  try {
    body = inflateBody(wire, encoding, ctx.maxBodyBytes);
  } catch (err) {
    if (err instanceof BodyError && (err.status === 400 || err.status === 413)) return { ok: false, status: err.status, message: err.message, undecodable: false, inflatedTooLarge: err.status === 413 };
    throw err;
  }
  let decoded;
  try {
    const maxSpans = ctx.maxSpans ?? DEFAULT_MAX_SPANS_PER_EXPORT;
    decoded = format === 'protobuf' ? decodeProtobuf(body, maxSpans) : decodeJson(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'), maxSpans);
  } catch (err) {
    if (err instanceof TooManySpansError) return { ok: false, status: 413, message: err.message, undecodable: false };
    if (err instanceof OtlpDecodeError) return { ok: false, status: 400, message: err.message, undecodable: true };
    // Any other failure while decoding is still a body we cannot read: 400 (not retried), never a 500 that
    // the exporter would retry forever. The message says which part of the body failed.
    return { ok: false, status: 400, message: `The export could not be decoded: ${(err as Error)?.message ?? String(err)}`, undecodable: true };
  }
  const resources = new Map<string, ResourceRow>();
  const all = normaliseRequest(decoded, { prices: ctx.prices, retentionDays: ctx.retentionDays, resources });
  const { ended: rows, started } = splitStarted(all);
  ctx.keepEnded?.(rows);
  return {
    ok: true,
    prepared: {
      payload: rows.length > 0 ? toSpanRowsPayload(rows, ctx.allocate) : null,
      rows: rows.length,
      startedPayload: started.length > 0 ? toSpanRowsPayload(started, ctx.allocate) : null,
      startedRows: started.length,
      resources: [...resources.values()],
      rejectedSpans: decoded.rejectedSpans,
      rejectReason: decoded.rejectReason,
      traceIds: ctx.listTraces?.() ? distinctTraceIds(all) : '',
    },
  };
}

/** Each trace of the rows once, joined: one string crosses to the main thread cheaper than an array of them. */
function distinctTraceIds(rows: readonly SpanRow[]): string {
  const seen = new Set<string>();
  let last = '';
  for (let i = 0; i < rows.length; i++) {
    // An export's spans come grouped by trace more often than not: most rows are the trace of the row before.
    const id = rows[i].trace_id;
    if (id !== last) seen.add((last = id));
  }
  return [...seen].join('');
}

/**
 * Spans reported at start go to their own table: only an ended span is counted. A started report has no end
 * and no usage yet: it ends where it starts, and never counts usage even if read by mistake.
 */
function splitStarted(rows: SpanRow[]): { ended: SpanRow[]; started: SpanRow[] } {
  let started: SpanRow[] | null = null;
  let ended: SpanRow[] | null = null;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r.attributes[STARTED_ATTRIBUTE] !== 'true') {
      ended?.push(r);
      continue;
    }
    // Most exports hold no started report: their rows stay one array, uncopied.
    if (!started) {
      started = [];
      ended = rows.slice(0, i);
    }
    started.push({ ...r, end_time: r.start_time, counts_usage: 0 });
  }
  return { ended: ended ?? rows, started: started ?? [] };
}
