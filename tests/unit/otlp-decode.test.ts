import { describe, expect, it } from 'vitest';
import { SpanKind, SpanStatusCode, TraceFlags, context, trace, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OtlpDecodeError } from '../../ingest/otlp/errors';
import { ExportTraceServiceRequest } from '../../ingest/otlp/schema';
import { allSpans, decodeJson, decodeProtobuf, recorder, start, toJson, toProtobuf } from './otlp-fixtures';

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** A real SDK span with some of its data replaced, for values the API will not produce. */
function variant(span: ReadableSpan, overrides: Partial<Record<keyof ReadableSpan, unknown>> & { ctx?: Partial<SpanContext> }): ReadableSpan {
  const { ctx, ...rest } = overrides;
  const props: PropertyDescriptorMap = {};
  for (const [k, v] of Object.entries(rest)) props[k] = { value: v, enumerable: true };
  if (ctx) props.spanContext = { value: () => ({ ...span.spanContext(), ...ctx }) };
  return Object.create(span, props) as ReadableSpan;
}

function sampleSpans(): ReadableSpan[] {
  const r = recorder({ 'service.name': 'checkout', 'service.version': '2.1.0' }, 'my-instrumentation');
  const root = r.tracer.startSpan('invoke_agent Planner', {
    kind: SpanKind.SERVER,
    startTime: [1700000000, 123456789],
    attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Planner' },
  });
  const child = r.tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      startTime: [1700000000, 200000000],
      attributes: {
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1200,
        temperature: 0.25,
        stream: false,
        stops: ['\n\n', 'END'],
        ids: [1, 2, 3],
        unicode: 'naïve ☕ 😀',
      },
    },
    trace.setSpan(context.active(), root),
  );
  child.addEvent('retry', { attempt: 2 }, [1700000000, 500000001]);
  child.recordException(new RangeError('rate limited'));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream 429' });
  child.end([1700000001, 999999999]);
  root.setStatus({ code: SpanStatusCode.OK });
  root.end([1700000002, 1]);
  return r.spans();
}

describe('decoding OTLP exports from the OpenTelemetry SDK', () => {
  it('reads ids, names, kinds, parent links, status, events, scope and resource from protobuf', () => {
    const spans = sampleSpans();
    const decoded = decodeProtobuf(toProtobuf(spans));
    expect(decoded.spanCount).toBe(2);
    expect(decoded.rejectedSpans).toBe(0);
    const [rs] = decoded.resourceSpans;
    expect(rs.resource).toEqual({ 'service.name': 'checkout', 'service.version': '2.1.0' });
    expect(rs.scopes[0]).toMatchObject({ name: 'my-instrumentation', version: '1.0.0' });
    const [child, root] = rs.scopes[0].spans;
    const sdkRoot = spans.find((s) => s.name.startsWith('invoke_agent'))!;
    expect(root).toMatchObject({
      traceId: sdkRoot.spanContext().traceId,
      spanId: sdkRoot.spanContext().spanId,
      parentSpanId: '',
      name: 'invoke_agent Planner',
      kind: 2, // SERVER: the API enum is offset by one from OTLP's
      statusCode: 1,
    });
    expect(child).toMatchObject({
      traceId: sdkRoot.spanContext().traceId,
      parentSpanId: sdkRoot.spanContext().spanId,
      kind: 3,
      statusCode: 2,
      statusMessage: 'upstream 429',
    });
    expect(child.attributes).toEqual({
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1200,
        temperature: 0.25,
        stream: false,
        stops: ['\n\n', 'END'],
        ids: [1, 2, 3],
        unicode: 'naïve ☕ 😀',
    });
    expect(child.events.map((e) => e.name)).toEqual(['retry', 'exception']);
    expect(child.events[0]).toEqual({ name: 'retry', timeUnixNano: '1700000000500000001', attributes: { attempt: 2 } });
    expect(child.events[1].attributes).toMatchObject({ 'exception.type': 'RangeError', 'exception.message': 'rate limited' });
  });

  it('gives the same result for the JSON and the protobuf export of the same spans', () => {
    const spans = sampleSpans();
    expect(decodeJson(toJson(spans))).toEqual(decodeProtobuf(toProtobuf(spans)));
  });

  it('keeps nanosecond times exact, up to the largest fixed64', () => {
    const [span] = sampleSpans().filter((s) => s.name.startsWith('chat'));
    const extreme = variant(span, { startTime: [18446744073, 709551615], endTime: [9007199254, 740993] });
    for (const decoded of [decodeProtobuf(toProtobuf([span, extreme])), decodeJson(toJson([span, extreme]))]) {
      const [a, b] = allSpans(decoded);
      expect(a.endTimeUnixNano).toBe('1700000001999999999');
      expect(b.startTimeUnixNano).toBe('18446744073709551615');
      expect(b.endTimeUnixNano).toBe('9007199254000740993'); // just above 2^53 + 1: a double would round it
    }
  });

  it('flattens every AnyValue kind: kvlists to objects, bytes to lowercase hex, big ints exactly', () => {
    const [span] = sampleSpans();
    const complex = variant(span, {
      attributes: {
        blob: new Uint8Array([0x00, 0xab, 0xff]),
        nested: { user: { id: 7, tags: ['a', 'b'] }, ok: true },
        negative: -42,
        mixed: [1, 'two', { three: 3 }],
      },
    });
    for (const decoded of [decodeProtobuf(toProtobuf([complex])), decodeJson(toJson([complex]))]) {
      expect(allSpans(decoded)[0].attributes).toEqual({
        blob: '00abff',
        nested: { user: { id: 7, tags: ['a', 'b'] }, ok: true },
        negative: -42,
        mixed: [1, 'two', { three: 3 }],
      });
    }
    // int64 beyond 2^53 (the SDK cannot produce one; another language's SDK can).
    const bytes = ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.alloc(16, 1),
                  spanId: Buffer.alloc(8, 2),
                  attributes: [
                    { key: 'max', value: { intValue: '9223372036854775807' } },
                    { key: 'min', value: { intValue: '-9223372036854775808' } },
                    { key: 'safe', value: { intValue: '-9007199254740991' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    }).finish();
    expect(allSpans(decodeProtobuf(bytes))[0].attributes).toEqual({
      max: '9223372036854775807',
      min: '-9223372036854775808',
      safe: -9007199254740991,
    });
  });

  it('decodes attribute keys afresh when a reused request buffer changes', () => {
    const [span] = sampleSpans();
    const body = Buffer.from(toProtobuf([variant(span, { attributes: { 'model.a': 1 } })]));
    expect(Object.keys(allSpans(decodeProtobuf(body))[0].attributes)).toEqual(['model.a']);
    body.write('model.b', body.indexOf('model.a'));
    expect(Object.keys(allSpans(decodeProtobuf(body))[0].attributes)).toEqual(['model.b']);
  });

  it('skips fields it does not use (links, flags, trace state, dropped counts, schema urls, profile string refs)', () => {
    const bytes = ExportTraceServiceRequest.encode({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }], droppedAttributesCount: 3, entityRefs: [{ type: 'host', idKeys: ['host.id'] }] },
          schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
          scopeSpans: [
            {
              scope: { name: 's', version: 'v', attributes: [{ key: 'x', value: { boolValue: true } }], droppedAttributesCount: 1 },
              schemaUrl: 'u',
              spans: [
                {
                  traceId: Buffer.alloc(16, 0xab),
                  spanId: Buffer.alloc(8, 0xcd),
                  traceState: 'vendor=1',
                  flags: 0x301,
                  name: 'n',
                  droppedAttributesCount: 4,
                  droppedEventsCount: 5,
                  droppedLinksCount: 6,
                  links: [{ traceId: Buffer.alloc(16, 9), spanId: Buffer.alloc(8, 9), attributes: [{ key: 'l', value: { stringValue: 'x' } }] }],
                  attributes: [
                    { key: 'profiles-only', value: { stringValueStrindex: 12 } },
                    { key: 'kept', value: { doubleValue: 2.5 } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    }).finish();
    const decoded = decodeProtobuf(bytes);
    expect(decoded.resourceSpans[0].resource).toEqual({ 'service.name': 'svc' });
    expect(allSpans(decoded)[0]).toMatchObject({
      traceId: 'ab'.repeat(16),
      spanId: 'cd'.repeat(8),
      name: 'n',
      attributes: { 'profiles-only': null, kept: 2.5 },
    });
  });
});

describe('OTLP/JSON variants other exporters send', () => {
  const camel = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'py-agent' } }] },
        scopeSpans: [
          {
            scope: { name: 'opentelemetry.instrumentation.openai', version: '0.1' },
            spans: [
              {
                traceId: '5B8EFFF798038103D269B633813FC60C',
                spanId: 'EEE19B7EC3C1B174',
                parentSpanId: 'EEE19B7EC3C1B173',
                name: 'chat gpt-4o-mini',
                kind: 3,
                startTimeUnixNano: '1544712660000000000',
                endTimeUnixNano: '1544712661000000000',
                attributes: [
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: '15' } },
                  { key: 'ratio', value: { doubleValue: 0.5 } },
                  { key: 'inf', value: { doubleValue: 'Infinity' } },
                  { key: 'blob', value: { bytesValue: 'AKv/' } },
                  { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }] } } },
                  { key: 'map', value: { kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } } },
                  { key: 'empty', value: {} },
                ],
                events: [{ timeUnixNano: '1544712660500000000', name: 'e', attributes: [] }],
                status: { code: 2, message: 'bad' },
              },
            ],
          },
        ],
      },
    ],
  };

  const snake = {
    resource_spans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { string_value: 'py-agent' } }] },
        scope_spans: [
          {
            scope: { name: 'opentelemetry.instrumentation.openai', version: '0.1' },
            spans: [
              {
                trace_id: '5b8efff798038103d269b633813fc60c',
                span_id: 'eee19b7ec3c1b174',
                parent_span_id: 'eee19b7ec3c1b173',
                name: 'chat gpt-4o-mini',
                kind: 'SPAN_KIND_CLIENT',
                start_time_unix_nano: 1544712660000000000, // a number: JSON.parse rounds, but this one is exact
                end_time_unix_nano: '1544712661000000000',
                attributes: [
                  { key: 'gen_ai.usage.input_tokens', value: { int_value: 15 } },
                  { key: 'ratio', value: { double_value: 0.5 } },
                  { key: 'inf', value: { double_value: 'Infinity' } },
                  { key: 'blob', value: { bytes_value: 'AKv/' } },
                  { key: 'list', value: { array_value: { values: [{ string_value: 'a' }, { int_value: '2' }] } } },
                  { key: 'map', value: { kvlist_value: { values: [{ key: 'k', value: { bool_value: true } }] } } },
                  { key: 'empty', value: {} },
                ],
                events: [{ time_unix_nano: 1544712660500000000, name: 'e' }],
                status: { code: 'STATUS_CODE_ERROR', message: 'bad' },
              },
            ],
          },
        ],
      },
    ],
  };

  it('accepts snake_case field names, enum names and int64 as numbers the same as the canonical form', () => {
    const a = decodeJson(JSON.stringify(camel));
    expect(decodeJson(JSON.stringify(snake))).toEqual(a);
    expect(allSpans(a)[0]).toEqual({
      traceId: '5b8efff798038103d269b633813fc60c',
      spanId: 'eee19b7ec3c1b174',
      parentSpanId: 'eee19b7ec3c1b173',
      name: 'chat gpt-4o-mini',
      kind: 3,
      startTimeUnixNano: '1544712660000000000',
      endTimeUnixNano: '1544712661000000000',
      attributes: {
        'gen_ai.usage.input_tokens': 15,
        ratio: 0.5,
        inf: Infinity,
        blob: '00abff',
        list: ['a', 2],
        map: { k: true },
        empty: null,
      },
      statusCode: 2,
      statusMessage: 'bad',
      events: [{ name: 'e', timeUnixNano: '1544712660500000000', attributes: {} }],
    });
  });

  it('treats an empty export as valid and an all-zero parent id as a root', () => {
    expect(decodeJson('{}')).toEqual({ resourceSpans: [], spanCount: 0, rejectedSpans: 0, rejectReason: '' });
    expect(decodeJson('\ufeff{"resourceSpans":[]}').spanCount).toBe(0); // a byte-order mark is tolerated
    expect(decodeProtobuf(new Uint8Array())).toEqual({ resourceSpans: [], spanCount: 0, rejectedSpans: 0, rejectReason: '' });
    const doc = structuredClone(camel);
    doc.resourceSpans[0].scopeSpans[0].spans[0].parentSpanId = '0000000000000000';
    expect(allSpans(decodeJson(JSON.stringify(doc)))[0].parentSpanId).toBe('');
  });

  it('stores hostile strings safely: lone surrogates replaced, a "__proto__" key kept as data', () => {
    const text = JSON.stringify(camel).replace('"name":"chat gpt-4o-mini"', '"name":"bad \\ud83d name"').replace('"key":"ratio"', '"key":"__proto__"');
    const span = allSpans(decodeJson(text))[0];
    expect(span.name).toBe('bad \ufffd name');
    expect(Object.keys(span.attributes)).toContain('__proto__');
    expect(Object.getPrototypeOf(span.attributes)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(span.attributes)).__proto__).toBe(0.5);
  });

  it('JSON: a stringValue that is an array or object is dropped, never coerced (deep nesting overflowed the stack: a 500)', () => {
    // Found by `npm run fuzz`: String() on a 20,000-deep array recursed through Array#join, and the export got a 500.
    const body = (value: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'ab'.repeat(16)}","spanId":"${'cd'.repeat(8)}","attributes":[{"key":"k","value":{"stringValue":${value}}}]}]}]}]}`;
    const value = (v: string) => allSpans(decodeJson(body(v)))[0].attributes.k;
    expect(value('['.repeat(20_000) + ']'.repeat(20_000))).toBeNull();
    expect(value('{"toString":1,"valueOf":1}')).toBeNull(); // String() on this throws a TypeError
    expect(value('[1,2]')).toBeNull();
    expect(value('12')).toBe('12');
    expect(value('true')).toBe('true');
  });
});

describe('spans with invalid ids are rejected one by one (partial success)', () => {
  function withBadIds(): ReadableSpan[] {
    const r = recorder();
    const good = start(r.tracer, { name: 'good' });
    good.end();
    const [span] = r.spans();
    return [
      span,
      variant(span, { name: 'zero trace', ctx: { traceId: '0'.repeat(32) } }),
      variant(span, { name: 'short span id', ctx: { spanId: 'abcd' } }),
      variant(span, { name: 'zero span id', ctx: { spanId: '0'.repeat(16) } }),
      variant(span, { name: 'bad parent', parentSpanContext: { traceId: span.spanContext().traceId, spanId: 'abcdef', traceFlags: TraceFlags.SAMPLED } }),
    ];
  }

  it('in protobuf and in JSON', () => {
    const spans = withBadIds();
    for (const decoded of [decodeProtobuf(toProtobuf(spans)), decodeJson(toJson(spans))]) {
      expect(allSpans(decoded).map((s) => s.name)).toEqual(['good']);
      expect(decoded.spanCount).toBe(1);
      expect(decoded.rejectedSpans).toBe(4);
      expect(decoded.rejectReason).toBe('traceId must not be all zero');
    }
  });

  it('names what is wrong with a JSON id', () => {
    const decoded = decodeJson(
      JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'not-hex', spanId: 'eee19b7ec3c1b174' }] }] }] }),
    );
    expect(decoded).toMatchObject({ spanCount: 0, rejectedSpans: 1, rejectReason: 'traceId must be a hex string' });
  });
});

describe('bodies that are not OTLP fail with a message saying what is wrong', () => {
  it('JSON', () => {
    const cases: [string, RegExp][] = [
      ['not json', /invalid JSON/],
      ['[]', /must be a JSON object/],
      ['{"resourceSpans": {}}', /resourceSpans must be an array/],
      ['{"resourceSpans": [{"scopeSpans": 3}]}', /resourceSpans\[0\]\.scopeSpans must be an array/],
      ['{"resourceSpans": [{"scopeSpans": [{"spans": ["x"]}]}]}', /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\] must be an object/],
      [`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'ab'.repeat(16)}","spanId":"${'cd'.repeat(8)}","attributes":[{"key":"k","value":${'{"arrayValue":{"values":['.repeat(40)}{}${']}}'.repeat(40)}}]}]}]}]}`, /nested deeper/],
    ];
    for (const [body, message] of cases) {
      expect(() => decodeJson(body), body.slice(0, 40)).toThrow(OtlpDecodeError);
      expect(() => decodeJson(body)).toThrow(message);
    }
  });

  it('protobuf: JSON text, truncation, wrong wire types', () => {
    const real = toProtobuf(sampleSpans());
    expect(() => decodeProtobuf(Buffer.from('{"resourceSpans":[]}'))).toThrow(/invalid protobuf: .*wire type/);
    expect(() => decodeProtobuf(real.subarray(0, real.length - 7))).toThrow(OtlpDecodeError);
    // resource_spans (field 1) sent as a varint instead of a message.
    expect(() => decodeProtobuf(new Uint8Array([0x08, 0x01]))).toThrow(/resource_spans has wire type varint, expected length-delimited/);
  });

  it('protobuf: random and corrupted bytes never escape as anything but OtlpDecodeError', () => {
    const real = toProtobuf(sampleSpans());
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      let body: Uint8Array;
      if (i % 2 === 0) {
        body = new Uint8Array(Math.floor(rand() * 300));
        for (let j = 0; j < body.length; j++) body[j] = Math.floor(rand() * 256);
      } else {
        body = Uint8Array.from(real);
        for (let k = 0; k < 3; k++) body[Math.floor(rand() * body.length)] = Math.floor(rand() * 256);
      }
      try {
        decodeProtobuf(body);
      } catch (err) {
        expect(err).toBeInstanceOf(OtlpDecodeError);
      }
    }
  });

  it('protobuf: values nested too deep are refused instead of overflowing the stack', () => {
    // Built by hand: protobufjs itself refuses to encode this deep.
    const len = (field: number, body: Buffer) => Buffer.concat([Buffer.from([(field << 3) | 2]), varint(body.length), body]);
    let value = len(1, Buffer.from('leaf')); // AnyValue{string_value}
    for (let i = 0; i < 100; i++) value = len(5, len(1, value)); // AnyValue{array_value{values: [value]}}
    const kv = Buffer.concat([len(1, Buffer.from('deep')), len(2, value)]);
    const span = Buffer.concat([len(1, Buffer.alloc(16, 1)), len(2, Buffer.alloc(8, 1)), len(9, kv)]);
    const bytes = len(1, len(2, len(2, span))); // request{resource_spans{scope_spans{spans}}}
    expect(() => decodeProtobuf(bytes)).toThrow(/nested deeper than 32 levels/);
  });
});
