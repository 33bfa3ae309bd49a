// Binary OTLP ExportTraceServiceRequest → DecodedRequest in one pass, with no intermediate message
// objects: this runs on every span we ingest.
import type { AttrValue, Attributes, DecodedEvent, DecodedRequest, DecodedScope, DecodedSpan } from '../types';
import {
  MAX_VALUE_DEPTH,
  clampKind,
  clampStatus,
  countSpan,
  emptyRequest,
  idProblem,
  isZero,
  newAttributes,
  rejectSpan,
  setKey,
} from './common';
import { OtlpDecodeError } from './errors';
import { fieldId } from './schema';
import { I64, LEN, VARINT, WireReader, i64ToValue, u64ToDecimal } from './wire';

const T = 'opentelemetry.proto.trace.v1.';
const CM = 'opentelemetry.proto.common.v1.';
const f = fieldId;

const REQ_RESOURCE_SPANS = f('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest', 'resourceSpans');
const RS_RESOURCE = f(`${T}ResourceSpans`, 'resource');
const RS_SCOPE_SPANS = f(`${T}ResourceSpans`, 'scopeSpans');
const RES_ATTRIBUTES = f('opentelemetry.proto.resource.v1.Resource', 'attributes');
const SS_SCOPE = f(`${T}ScopeSpans`, 'scope');
const SS_SPANS = f(`${T}ScopeSpans`, 'spans');
const SCOPE_NAME = f(`${CM}InstrumentationScope`, 'name');
const SCOPE_VERSION = f(`${CM}InstrumentationScope`, 'version');
const SPAN_TRACE_ID = f(`${T}Span`, 'traceId');
const SPAN_SPAN_ID = f(`${T}Span`, 'spanId');
const SPAN_PARENT_SPAN_ID = f(`${T}Span`, 'parentSpanId');
const SPAN_NAME = f(`${T}Span`, 'name');
const SPAN_KIND = f(`${T}Span`, 'kind');
const SPAN_START = f(`${T}Span`, 'startTimeUnixNano');
const SPAN_END = f(`${T}Span`, 'endTimeUnixNano');
const SPAN_ATTRIBUTES = f(`${T}Span`, 'attributes');
const SPAN_EVENTS = f(`${T}Span`, 'events');
const SPAN_STATUS = f(`${T}Span`, 'status');
const EVENT_TIME = f(`${T}Span.Event`, 'timeUnixNano');
const EVENT_NAME = f(`${T}Span.Event`, 'name');
const EVENT_ATTRIBUTES = f(`${T}Span.Event`, 'attributes');
const STATUS_MESSAGE = f(`${T}Status`, 'message');
const STATUS_CODE = f(`${T}Status`, 'code');
const KV_KEY = f(`${CM}KeyValue`, 'key');
const KV_VALUE = f(`${CM}KeyValue`, 'value');
const AV_STRING = f(`${CM}AnyValue`, 'stringValue');
const AV_BOOL = f(`${CM}AnyValue`, 'boolValue');
const AV_INT = f(`${CM}AnyValue`, 'intValue');
const AV_DOUBLE = f(`${CM}AnyValue`, 'doubleValue');
const AV_ARRAY = f(`${CM}AnyValue`, 'arrayValue');
const AV_KVLIST = f(`${CM}AnyValue`, 'kvlistValue');
const AV_BYTES = f(`${CM}AnyValue`, 'bytesValue');
const ARRAY_VALUES = f(`${CM}ArrayValue`, 'values');
const KVLIST_VALUES = f(`${CM}KeyValueList`, 'values');

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', '6', '7'];

/** Decodes a binary OTLP trace export. Throws OtlpDecodeError when the body is not one. */
export function decodeProtobuf(body: Uint8Array, maxSpans = Infinity): DecodedRequest {
  const r = new WireReader(body);
  const out = emptyRequest(maxSpans);
  try {
    while (r.pos < r.end) {
      const tag = r.uint32();
      if (tag >>> 3 === REQ_RESOURCE_SPANS) {
        want(r, tag, LEN, 'resource_spans');
        const e = r.lenEnd(r.end);
        resourceSpans(r, e, out);
        r.endOf(e, 'ResourceSpans');
      } else skipField(r, tag, r.end);
    }
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw err;
    // Anything else (e.g. RangeError from a buffer read) still means the body is not valid OTLP.
    throw new OtlpDecodeError(`invalid protobuf: ${(err as Error).message}`);
  }
  return out;
}

function want(r: WireReader, tag: number, wireType: number, field: string): void {
  const wt = tag & 7;
  if (wt !== wireType) r.fail(`field ${field} has wire type ${WIRE_NAMES[wt]}, expected ${WIRE_NAMES[wireType]}`);
}

function skipField(r: WireReader, tag: number, limit: number): void {
  if (tag >>> 3 === 0) r.fail('field number 0');
  r.skip(tag & 7, limit);
}

function resourceSpans(r: WireReader, end: number, out: DecodedRequest): void {
  let resource: Attributes | null = null;
  const scopes: DecodedScope[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === RS_RESOURCE) {
      want(r, tag, LEN, 'resource');
      const e = r.lenEnd(end);
      resource ??= newAttributes();
      while (r.pos < e) {
        const t = r.uint32();
        if (t >>> 3 === RES_ATTRIBUTES) {
          want(r, t, LEN, 'resource.attributes');
          keyValue(r, r.lenEnd(e), resource, 0);
        } else skipField(r, t, e);
      }
      r.endOf(e, 'Resource');
    } else if (field === RS_SCOPE_SPANS) {
      want(r, tag, LEN, 'scope_spans');
      const e = r.lenEnd(end);
      scopes.push(scopeSpans(r, e, out));
      r.endOf(e, 'ScopeSpans');
    } else skipField(r, tag, end);
  }
  out.resourceSpans.push({ resource: resource ?? newAttributes(), scopes });
}

function scopeSpans(r: WireReader, end: number, out: DecodedRequest): DecodedScope {
  const scope: DecodedScope = { name: '', version: '', spans: [] };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === SS_SPANS) {
      want(r, tag, LEN, 'spans');
      const e = r.lenEnd(end);
      const s = span(r, e, out);
      r.endOf(e, 'Span');
      if (s) {
        scope.spans.push(s);
        countSpan(out);
      }
    } else if (field === SS_SCOPE) {
      want(r, tag, LEN, 'scope');
      const e = r.lenEnd(end);
      while (r.pos < e) {
        const t = r.uint32();
        const sf = t >>> 3;
        if (sf === SCOPE_NAME) {
          want(r, t, LEN, 'scope.name');
          scope.name = r.string(e);
        } else if (sf === SCOPE_VERSION) {
          want(r, t, LEN, 'scope.version');
          scope.version = r.string(e);
        } else skipField(r, t, e);
      }
      r.endOf(e, 'InstrumentationScope');
    } else skipField(r, tag, end);
  }
  return scope;
}

/** Returns null (after counting the rejection) when the span's ids are invalid. */
function span(r: WireReader, end: number, out: DecodedRequest): DecodedSpan | null {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let start = '0';
  let finish = '0';
  let statusCode = 0;
  let statusMessage = '';
  const attributes = newAttributes();
  const events: DecodedEvent[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case SPAN_TRACE_ID:
        want(r, tag, LEN, 'trace_id');
        traceId = hex(r, end);
        break;
      case SPAN_SPAN_ID:
        want(r, tag, LEN, 'span_id');
        spanId = hex(r, end);
        break;
      case SPAN_PARENT_SPAN_ID:
        want(r, tag, LEN, 'parent_span_id');
        parentSpanId = hex(r, end);
        break;
      case SPAN_NAME:
        want(r, tag, LEN, 'name');
        name = r.string(end);
        break;
      case SPAN_KIND:
        want(r, tag, VARINT, 'kind');
        kind = clampKind(r.uint32());
        break;
      case SPAN_START:
        want(r, tag, I64, 'start_time_unix_nano');
        r.fixed64();
        start = u64ToDecimal(r.lo, r.hi);
        break;
      case SPAN_END:
        want(r, tag, I64, 'end_time_unix_nano');
        r.fixed64();
        finish = u64ToDecimal(r.lo, r.hi);
        break;
      case SPAN_ATTRIBUTES:
        want(r, tag, LEN, 'attributes');
        keyValue(r, r.lenEnd(end), attributes, 0);
        break;
      case SPAN_EVENTS: {
        want(r, tag, LEN, 'events');
        const e = r.lenEnd(end);
        events.push(event(r, e));
        r.endOf(e, 'Span.Event');
        break;
      }
      case SPAN_STATUS: {
        want(r, tag, LEN, 'status');
        const e = r.lenEnd(end);
        while (r.pos < e) {
          const t = r.uint32();
          const sf = t >>> 3;
          if (sf === STATUS_CODE) {
            want(r, t, VARINT, 'status.code');
            statusCode = clampStatus(r.uint32());
          } else if (sf === STATUS_MESSAGE) {
            want(r, t, LEN, 'status.message');
            statusMessage = r.string(e);
          } else skipField(r, t, e);
        }
        r.endOf(e, 'Status');
        break;
      }
      default:
        skipField(r, tag, end);
    }
  }
  if (parentSpanId.length === 16 && isZero(parentSpanId)) parentSpanId = '';
  const problem = idProblem(traceId, spanId, parentSpanId);
  if (problem) {
    rejectSpan(out, problem);
    return null;
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: finish,
    attributes,
    statusCode,
    statusMessage,
    events,
  };
}

function event(r: WireReader, end: number): DecodedEvent {
  let name = '';
  let time = '0';
  const attributes = newAttributes();
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === EVENT_TIME) {
      want(r, tag, I64, 'event.time_unix_nano');
      r.fixed64();
      time = u64ToDecimal(r.lo, r.hi);
    } else if (field === EVENT_NAME) {
      want(r, tag, LEN, 'event.name');
      name = r.string(end);
    } else if (field === EVENT_ATTRIBUTES) {
      want(r, tag, LEN, 'event.attributes');
      keyValue(r, r.lenEnd(end), attributes, 0);
    } else skipField(r, tag, end);
  }
  return { name, timeUnixNano: time, attributes };
}

function hex(r: WireReader, limit: number): string {
  const e = r.lenEnd(limit);
  const s = r.pos === e ? '' : r.buf.hexSlice(r.pos, e);
  r.pos = e;
  return s;
}

/** Decodes one KeyValue (ending at `end`) into `into`; a repeated key keeps its last value. */
function keyValue(r: WireReader, end: number, into: Attributes, depth: number): void {
  let key = '';
  let value: AttrValue = null;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === KV_KEY) {
      want(r, tag, LEN, 'key');
      key = r.key(end);
    } else if (field === KV_VALUE) {
      want(r, tag, LEN, 'value');
      const e = r.lenEnd(end);
      value = anyValue(r, e, depth);
      r.endOf(e, 'AnyValue');
    } else skipField(r, tag, end);
  }
  r.endOf(end, 'KeyValue');
  setKey(into, key, value);
}

function anyValue(r: WireReader, end: number, depth: number): AttrValue {
  if (depth > MAX_VALUE_DEPTH) r.fail(`attribute value nested deeper than ${MAX_VALUE_DEPTH} levels`);
  let value: AttrValue = null;
  // A oneof: when several members are present the last one wins, as in every protobuf runtime.
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case AV_STRING:
        want(r, tag, LEN, 'string_value');
        value = r.string(end);
        break;
      case AV_BOOL:
        want(r, tag, VARINT, 'bool_value');
        r.varint64();
        value = r.lo !== 0 || r.hi !== 0;
        break;
      case AV_INT:
        want(r, tag, VARINT, 'int_value');
        r.varint64();
        value = i64ToValue(r.lo, r.hi);
        break;
      case AV_DOUBLE:
        want(r, tag, I64, 'double_value');
        value = r.double();
        break;
      case AV_ARRAY: {
        want(r, tag, LEN, 'array_value');
        const e = r.lenEnd(end);
        const arr: AttrValue[] = [];
        while (r.pos < e) {
          const t = r.uint32();
          if (t >>> 3 === ARRAY_VALUES) {
            want(r, t, LEN, 'array_value.values');
            const ve = r.lenEnd(e);
            arr.push(anyValue(r, ve, depth + 1));
            r.endOf(ve, 'AnyValue');
          } else skipField(r, t, e);
        }
        r.endOf(e, 'ArrayValue');
        value = arr;
        break;
      }
      case AV_KVLIST: {
        want(r, tag, LEN, 'kvlist_value');
        const e = r.lenEnd(end);
        const obj = newAttributes();
        while (r.pos < e) {
          const t = r.uint32();
          if (t >>> 3 === KVLIST_VALUES) {
            want(r, t, LEN, 'kvlist_value.values');
            keyValue(r, r.lenEnd(e), obj, depth + 1);
          } else skipField(r, t, e);
        }
        r.endOf(e, 'KeyValueList');
        value = obj;
        break;
      }
      case AV_BYTES:
        want(r, tag, LEN, 'bytes_value');
        value = hex(r, end);
        break;
      default:
        // Includes string_value_strindex (profiles only): treated as absent, per the proto comment.
        skipField(r, tag, end);
    }
  }
  return value;
}
