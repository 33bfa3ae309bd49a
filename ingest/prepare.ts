import { decodeProtobuf } from './otlp/decode-protobuf';
import { decodeJson } from './otlp/decode-json';
import { OtlpDecodeError, TooManySpansError } from './otlp/errors';
import { normaliseRequest } from './normalise/index';
import { toSpanRowsPayload, type Allocate } from './serialise';
import type { PriceBook } from '../lib/server/prices';
import type { ResourceRow } from './types';
import { BodyError, inflateBody, type BodyEncoding } from './body';

export type ExportFormat = 'protobuf' | 'json';

/** One export request made ready for the writer: its rows as insert bytes, and what its response must say. */
export interface PreparedExport {
  payload: Uint8Array | null;
  rows: number;
  resources: ResourceRow[];
  rejectedSpans: number;
  rejectReason: string;
}

/** Refused: `undecodable` is a body that inflated but is not OTLP (counted as rejected spans). */
export type PrepareResult =
  | { ok: true; prepared: PreparedExport }
  | { ok: false; status: 400 | 413; message: string; undecodable: boolean };

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
    if (err instanceof BodyError && (err.status === 400 || err.status === 413)) return { ok: false, status: err.status, message: err.message, undecodable: false };
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
  const rows = normaliseRequest(decoded, { prices: ctx.prices, retentionDays: ctx.retentionDays, resources });
  return {
    ok: true,
    prepared: {
      payload: rows.length > 0 ? toSpanRowsPayload(rows, ctx.allocate) : null,
      rows: rows.length,
      resources: [...resources.values()],
      rejectedSpans: decoded.rejectedSpans,
      rejectReason: decoded.rejectReason,
    },
  };
}
