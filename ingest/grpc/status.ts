// How an export's outcome is said over OTLP/gRPC: the status code the OTLP specification gives each case,
// and, when the client should come back, a google.rpc.RetryInfo telling it when.
import protobuf from 'protobufjs';
import { Metadata, status as Code, type StatusObject } from '@grpc/grpc-js';
import { RpcStatus } from '../otlp/schema';
import type { ExportOutcome } from '../receiver';

/** The trailer in which gRPC carries a google.rpc.Status with typed details (RetryInfo here). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

// google/rpc/error_details.proto RetryInfo and google/protobuf/duration.proto, the two messages the
// OTLP throttling rule needs (the OTLP schema in ../otlp/schema.ts has google.rpc.Status and Any).
const root = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Duration: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } } } },
        rpc: { nested: { RetryInfo: { fields: { retryDelay: { type: 'google.protobuf.Duration', id: 1 } } } } },
      },
    },
  },
});
export const RetryInfo = root.lookupType('google.rpc.RetryInfo');

/**
 * HTTP's statuses for the same cases, in gRPC's terms. RESOURCE_EXHAUSTED is retried by OTLP exporters only
 * when it carries RetryInfo (without it, it means "too large, never retry"), so every refusal the client
 * should retry carries it; UNAVAILABLE is always retried and carries it as the delay to wait.
 */
const CODES: Record<Exclude<ExportOutcome, { ok: true }>['status'], Code> = {
  400: Code.INVALID_ARGUMENT,
  408: Code.CANCELLED,
  413: Code.INVALID_ARGUMENT,
  429: Code.RESOURCE_EXHAUSTED,
  503: Code.UNAVAILABLE,
};

export function codeOf(outcome: ExportOutcome): Code {
  if (outcome.ok) return Code.OK;
  // A message past the size limit once inflated: RESOURCE_EXHAUSTED, as grpc-js answers one past it on the
  // wire (without RetryInfo, so not retried); a 413 for too many spans stays INVALID_ARGUMENT.
  return outcome.inflatedTooLarge ? Code.RESOURCE_EXHAUSTED : CODES[outcome.status];
}

/** The status to end a refused call with; `retryAfterSeconds` becomes a RetryInfo in the status details. */
export function refusal(code: Code, message: string, retryAfterSeconds?: number): Partial<StatusObject> & { code: Code; details: string } {
  const metadata = new Metadata();
  if (retryAfterSeconds !== undefined) {
    const retryInfo = RetryInfo.encode({ retryDelay: { seconds: Math.max(0, Math.ceil(retryAfterSeconds)), nanos: 0 } }).finish();
    const details = RpcStatus.encode({ code, message, details: [{ typeUrl: RETRY_INFO_TYPE_URL, value: retryInfo }] }).finish();
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(details));
  }
  return { code, details: message, metadata };
}

/** The delay a refused call's RetryInfo asks for, in ms; undefined when it carries none (do not retry). */
export function retryDelayMs(trailers: Metadata | undefined): number | undefined {
  const raw = trailers?.get(STATUS_DETAILS_KEY)[0];
  return raw instanceof Buffer ? retryDelayMsOf(raw) : undefined;
}

/** The same, from the google.rpc.Status bytes of a `grpc-status-details-bin` trailer. */
export function retryDelayMsOf(statusDetails: Uint8Array): number | undefined {
  const status = RpcStatus.toObject(RpcStatus.decode(statusDetails), { longs: Number }) as { details?: { typeUrl: string; value: Uint8Array }[] };
  const info = status.details?.find((d) => d.typeUrl === RETRY_INFO_TYPE_URL);
  if (!info) return undefined;
  const { retryDelay } = RetryInfo.toObject(RetryInfo.decode(info.value), { longs: Number }) as { retryDelay?: { seconds?: number; nanos?: number } };
  return (retryDelay?.seconds ?? 0) * 1000 + Math.round((retryDelay?.nanos ?? 0) / 1e6);
}
