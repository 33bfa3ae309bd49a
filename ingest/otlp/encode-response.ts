// Response bodies for the OTLP/HTTP receiver, in the request's own format.
import { ExportTraceServiceResponse, RpcStatus } from './schema';

export type OtlpFormat = 'protobuf' | 'json';

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/**
 * An ExportTraceServiceResponse. `partial_success` is only set when something was rejected: per OTLP
 * an empty response means full success, and a partial success with rejected_spans > 0 tells the
 * client not to retry those spans.
 */
export function encodeExportResponse(format: 'protobuf', partial?: PartialSuccess): Uint8Array;
export function encodeExportResponse(format: 'json', partial?: PartialSuccess): string;
export function encodeExportResponse(format: OtlpFormat, partial?: PartialSuccess): Uint8Array | string;
export function encodeExportResponse(format: OtlpFormat, partial?: PartialSuccess): Uint8Array | string {
  const ps =
    partial && (partial.rejectedSpans > 0 || partial.errorMessage !== '')
      ? { rejectedSpans: Math.max(0, Math.trunc(partial.rejectedSpans)), errorMessage: partial.errorMessage }
      : undefined;
  if (format === 'json') {
    // OTLP/JSON parsers accept int64 as a number or a string; a number is what JS clients expect.
    return JSON.stringify(ps ? { partialSuccess: ps } : {});
  }
  return ExportTraceServiceResponse.encode(ps ? { partialSuccess: ps } : {}).finish();
}

/** A google.rpc.Status body for 4xx/5xx answers; the message should say what was wrong. */
export function encodeStatus(format: 'protobuf', code: number, message: string): Uint8Array;
export function encodeStatus(format: 'json', code: number, message: string): string;
export function encodeStatus(format: OtlpFormat, code: number, message: string): Uint8Array | string;
export function encodeStatus(format: OtlpFormat, code: number, message: string): Uint8Array | string {
  if (format === 'json') return JSON.stringify({ code, message });
  return RpcStatus.encode({ code, message }).finish();
}
