import { decodeProtobuf } from './otlp/decode-protobuf';
import { decodeJson } from './otlp/decode-json';
import { OtlpDecodeError } from './otlp/errors';
import { normaliseRequest } from './normalise/index';
import { toSpanRowsPayload } from './serialise';
import type { PriceBook } from '../lib/prices';
import type { ResourceRow } from './types';

export type ExportFormat = 'protobuf' | 'json';

/** One export request made ready for the writer: its rows as insert bytes, and what its response must say. */
export interface PreparedExport {
  payload: Uint8Array | null;
  rows: number;
  resources: ResourceRow[];
  rejectedSpans: number;
  rejectReason: string;
}

export type PrepareResult = { ok: true; prepared: PreparedExport } | { ok: false; message: string };

export interface PrepareContext {
  prices: PriceBook;
  retentionDays: number;
}

/** Decoded body → normalised rows → insert bytes. An undecodable body is a result (a 400), not a throw. */
export function prepareExport(body: Uint8Array, format: ExportFormat, ctx: PrepareContext): PrepareResult {
  let decoded;
  try {
    decoded = format === 'protobuf' ? decodeProtobuf(body) : decodeJson(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    if (err instanceof OtlpDecodeError) return { ok: false, message: err.message };
    throw err;
  }
  const resources = new Map<string, ResourceRow>();
  const rows = normaliseRequest(decoded, { prices: ctx.prices, retentionDays: ctx.retentionDays, resources });
  return {
    ok: true,
    prepared: {
      payload: rows.length > 0 ? toSpanRowsPayload(rows) : null,
      rows: rows.length,
      resources: [...resources.values()],
      rejectedSpans: decoded.rejectedSpans,
      rejectReason: decoded.rejectReason,
    },
  };
}
