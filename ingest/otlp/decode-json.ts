// OTLP/JSON ExportTraceServiceRequest → DecodedRequest. OTLP's JSON differs from generic proto-JSON:
// ids are hex, enums are integers (names accepted too), and 64-bit integers may be strings or numbers.
// Field names are accepted in lowerCamelCase and snake_case.
import type { AttrValue, Attributes, DecodedEvent, DecodedRequest, DecodedScope, DecodedSpan } from '../types';
import { MAX_VALUE_DEPTH, clampKind, clampStatus, countSpan, emptyRequest, idProblem, isZero, newAttributes, rejectSpan, setKey } from './common';
import { OtlpDecodeError } from './errors';

type Obj = Record<string, unknown>;

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

const KIND_NAMES = new Map([
  ['SPAN_KIND_UNSPECIFIED', 0],
  ['SPAN_KIND_INTERNAL', 1],
  ['SPAN_KIND_SERVER', 2],
  ['SPAN_KIND_CLIENT', 3],
  ['SPAN_KIND_PRODUCER', 4],
  ['SPAN_KIND_CONSUMER', 5],
]);
const STATUS_NAMES = new Map([
  ['STATUS_CODE_UNSET', 0],
  ['STATUS_CODE_OK', 1],
  ['STATUS_CODE_ERROR', 2],
]);
const U64_MAX = '18446744073709551615';
const HEX_RE = /^[0-9a-fA-F]*$/;
const DIGITS_RE = /^\d+$/;
const INT_RE = /^-?\d+$/;

/** Decodes an OTLP/JSON trace export. Throws OtlpDecodeError when the body is not one. */
export function decodeJson(text: string, maxSpans = Infinity): DecodedRequest {
  let doc: unknown;
  try {
    // Some HTTP clients prefix a byte-order mark, which JSON.parse rejects.
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new OtlpDecodeError(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isObj(doc)) throw new OtlpDecodeError('body must be a JSON object (an ExportTraceServiceRequest)');
  const out = emptyRequest(maxSpans);
  const rss = list(doc, 'resourceSpans', 'resource_spans', 'resourceSpans');
  for (let i = 0; i < rss.length; i++) {
    const path = `resourceSpans[${i}]`;
    const rs = obj(rss[i], path);
    const resource = pick(rs, 'resource', 'resource');
    const scopes: DecodedScope[] = [];
    const sss = list(rs, 'scopeSpans', 'scope_spans', `${path}.scopeSpans`);
    for (let j = 0; j < sss.length; j++) scopes.push(scopeSpans(obj(sss[j], `${path}.scopeSpans[${j}]`), `${path}.scopeSpans[${j}]`, out));
    out.resourceSpans.push({
      resource: isObj(resource) ? attributes(resource, `${path}.resource`) : newAttributes(),
      scopes,
    });
  }
  return out;
}

function scopeSpans(ss: Obj, path: string, out: DecodedRequest): DecodedScope {
  const scope = pick(ss, 'scope', 'scope');
  const result: DecodedScope = {
    name: isObj(scope) ? str(scope.name) : '',
    version: isObj(scope) ? str(scope.version) : '',
    spans: [],
  };
  const spans = list(ss, 'spans', 'spans', `${path}.spans`);
  for (let k = 0; k < spans.length; k++) {
    const s = span(obj(spans[k], `${path}.spans[${k}]`), `${path}.spans[${k}]`, out);
    if (s) {
      result.spans.push(s);
      countSpan(out);
    }
  }
  return result;
}

function span(s: Obj, path: string, out: DecodedRequest): DecodedSpan | null {
  const traceId = hexId(pick(s, 'traceId', 'trace_id'));
  const spanId = hexId(pick(s, 'spanId', 'span_id'));
  let parentSpanId = hexId(pick(s, 'parentSpanId', 'parent_span_id'));
  if (traceId === null) return reject(out, 'traceId must be a hex string');
  if (spanId === null) return reject(out, 'spanId must be a hex string');
  if (parentSpanId === null) return reject(out, 'parentSpanId must be a hex string');
  if (parentSpanId.length === 16 && isZero(parentSpanId)) parentSpanId = '';
  const problem = idProblem(traceId, spanId, parentSpanId);
  if (problem) return reject(out, problem);
  const start = time(pick(s, 'startTimeUnixNano', 'start_time_unix_nano'));
  const end = time(pick(s, 'endTimeUnixNano', 'end_time_unix_nano'));
  if (start === null) return reject(out, 'startTimeUnixNano must be an unsigned 64-bit integer');
  if (end === null) return reject(out, 'endTimeUnixNano must be an unsigned 64-bit integer');
  const status = pick(s, 'status', 'status');
  const rawEvents = list(s, 'events', 'events', `${path}.events`);
  const events: DecodedEvent[] = [];
  for (let i = 0; i < rawEvents.length; i++) {
    const ev = obj(rawEvents[i], `${path}.events[${i}]`);
    events.push({
      name: str(ev.name),
      timeUnixNano: time(pick(ev, 'timeUnixNano', 'time_unix_nano')) ?? '0',
      attributes: attributes(ev, `${path}.events[${i}]`),
    });
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    name: str(s.name),
    kind: clampKind(enumValue(s.kind, KIND_NAMES)),
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    attributes: attributes(s, path),
    statusCode: isObj(status) ? clampStatus(enumValue(status.code, STATUS_NAMES)) : 0,
    statusMessage: isObj(status) ? str(status.message) : '',
    events,
  };
}

function reject(out: DecodedRequest, reason: string): null {
  rejectSpan(out, reason);
  return null;
}

/** The `attributes` list of `holder` as a map; a repeated key keeps its last value. */
function attributes(holder: Obj, path: string): Attributes {
  const into = newAttributes();
  const kvs = list(holder, 'attributes', 'attributes', `${path}.attributes`);
  for (let i = 0; i < kvs.length; i++) keyValue(kvs[i], into, 0);
  return into;
}

function keyValue(kv: unknown, into: Attributes, depth: number): void {
  if (!isObj(kv) || typeof kv.key !== 'string') return;
  setKey(into, wellFormed(kv.key), anyValue(kv.value, depth));
}

function anyValue(v: unknown, depth: number): AttrValue {
  if (depth > MAX_VALUE_DEPTH) throw new OtlpDecodeError(`attribute value nested deeper than ${MAX_VALUE_DEPTH} levels`);
  if (!isObj(v)) {
    // Not an AnyValue wrapper; keep a bare primitive rather than lose the attribute.
    if (typeof v === 'string') return wellFormed(v);
    return typeof v === 'number' || typeof v === 'boolean' ? v : null;
  }
  let x = pick(v, 'stringValue', 'string_value');
  // Only primitives are coerced: String() on a nested array recurses through Array#join (a 20,000-deep one
  // overflowed the stack) and on an object can throw.
  if (x !== undefined) return typeof x === 'string' ? wellFormed(x) : typeof x === 'number' || typeof x === 'boolean' ? String(x) : null;
  x = pick(v, 'intValue', 'int_value');
  if (x !== undefined) return intValue(x);
  x = pick(v, 'doubleValue', 'double_value');
  if (x !== undefined) return typeof x === 'number' ? x : typeof x === 'string' ? Number(x) : null;
  x = pick(v, 'boolValue', 'bool_value');
  if (x !== undefined) return x === true || x === 'true';
  x = pick(v, 'arrayValue', 'array_value');
  if (x !== undefined) {
    const values = isObj(x) && Array.isArray(x.values) ? x.values : [];
    const arr: AttrValue[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) arr[i] = anyValue(values[i], depth + 1);
    return arr;
  }
  x = pick(v, 'kvlistValue', 'kvlist_value');
  if (x !== undefined) {
    const into = newAttributes();
    const values = isObj(x) && Array.isArray(x.values) ? x.values : [];
    for (let i = 0; i < values.length; i++) keyValue(values[i], into, depth + 1);
    return into;
  }
  x = pick(v, 'bytesValue', 'bytes_value');
  if (x !== undefined) return typeof x === 'string' ? Buffer.from(x, 'base64').toString('hex') : null;
  return null;
}

/** int64 as a number when exact, else as its exact decimal string. */
function intValue(x: unknown): AttrValue {
  if (typeof x === 'number') return Number.isFinite(x) ? Math.trunc(x) : null;
  if (typeof x !== 'string' || !INT_RE.test(x)) return null;
  const n = Number(x);
  return Number.isSafeInteger(n) ? n : BigInt(x).toString();
}

/** fixed64 nanoseconds as a canonical decimal string; null when not an unsigned 64-bit integer. */
function time(v: unknown): string | null {
  if (v === undefined || v === null) return '0';
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) return null;
    if (Number.isSafeInteger(v)) return String(v);
    // Already rounded by JSON.parse: the sender chose a number over a string for a 64-bit value.
    const s = BigInt(v).toString();
    return s.length > 20 || (s.length === 20 && s > U64_MAX) ? null : s;
  }
  if (typeof v !== 'string' || !DIGITS_RE.test(v)) return null;
  let i = 0;
  while (i < v.length - 1 && v.charCodeAt(i) === 48) i++;
  const s = i === 0 ? v : v.slice(i);
  return s.length > 20 || (s.length === 20 && s > U64_MAX) ? null : s;
}

function hexId(v: unknown): string | null {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || !HEX_RE.test(v)) return null;
  return v.toLowerCase();
}

function enumValue(v: unknown, names: Map<string, number>): number {
  if (typeof v === 'number') return Number.isInteger(v) ? v : 0;
  if (typeof v === 'string') return names.get(v) ?? (INT_RE.test(v) ? Number(v) : 0);
  return 0;
}

function str(v: unknown): string {
  return typeof v === 'string' ? wellFormed(v) : '';
}

/** JSON.parse keeps lone surrogates from `\ud83d` escapes; ClickHouse rejects the whole insert on one. */
function wellFormed(s: string): string {
  const w = s as unknown as WellFormedString;
  return w.isWellFormed() ? s : w.toWellFormed();
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new OtlpDecodeError(`${path} must be an object`);
  return v;
}

function pick(o: Obj, camel: string, snake: string): unknown {
  const v = o[camel];
  return v !== undefined ? v : o[snake];
}

/** A repeated field: absent or null means empty; anything but an array is a structural error. */
function list(o: Obj, camel: string, snake: string, path: string): unknown[] {
  const v = pick(o, camel, snake);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpDecodeError(`${path} must be an array`);
  return v;
}
