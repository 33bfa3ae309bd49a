// Pieces shared by the protobuf and JSON decoders, so both formats accept and reject the same spans.
import type { Attributes, DecodedRequest } from '../types';
import { TooManySpansError } from './errors';

/** Deeper AnyValue nesting than this is rejected: real attributes never nest that far, and unbounded
 * recursion on hostile input would overflow the stack. */
export const MAX_VALUE_DEPTH = 32;

const spanLimits = new WeakMap<DecodedRequest, number>();

/** A request being decoded; decoding stops with TooManySpansError once it passes `maxSpans`. */
export function emptyRequest(maxSpans = Infinity): DecodedRequest {
  const out: DecodedRequest = { resourceSpans: [], spanCount: 0, rejectedSpans: 0, rejectReason: '' };
  spanLimits.set(out, maxSpans);
  return out;
}

/** Counts one accepted span, stopping the decode as soon as the request passes its span limit. */
export function countSpan(out: DecodedRequest): void {
  const max = spanLimits.get(out) ?? Infinity;
  if (++out.spanCount > max) throw new TooManySpansError(max);
}

export function rejectSpan(out: DecodedRequest, reason: string): void {
  out.rejectedSpans++;
  if (out.rejectReason === '') out.rejectReason = reason;
}

export function newAttributes(): Attributes {
  return {};
}

/** Sets a key from the wire; an attribute named `__proto__` becomes an ordinary own property. */
export function setKey<T>(o: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/** Unknown enum values become 0: the kind column is UInt8 and status has three states. */
export function clampKind(kind: number): number {
  return kind >= 0 && kind <= 5 ? kind : 0;
}

export function clampStatus(code: number): number {
  return code === 1 || code === 2 ? code : 0;
}

/**
 * Why a span's ids are unacceptable, or '' when they are fine. Lengths are in hex characters.
 * An all-zero parent is treated as "no parent" by the callers (some SDKs send it for roots).
 */
export function idProblem(traceIdHex: string, spanIdHex: string, parentHex: string): string {
  if (traceIdHex.length !== 32) return 'traceId must be 16 bytes';
  if (isZero(traceIdHex)) return 'traceId must not be all zero';
  if (spanIdHex.length !== 16) return 'spanId must be 8 bytes';
  if (isZero(spanIdHex)) return 'spanId must not be all zero';
  if (parentHex.length !== 0 && parentHex.length !== 16) return 'parentSpanId must be empty or 8 bytes';
  return '';
}

export function isZero(hex: string): boolean {
  for (let i = 0; i < hex.length; i++) if (hex.charCodeAt(i) !== 48) return false;
  return true;
}
