// Structure-aware mutation of OTLP/JSON bodies: the JSON a real exporter sent is parsed, mutated as a value
// tree (wrong types per field, bad ids, special numbers, deep nesting, duplicate keys…) and written back by a
// writer that can also emit what JSON.stringify cannot (NaN, 1e999, duplicate keys, raw fragments); then,
// sometimes, mutated again as text or bytes.
import type { Rng } from './prng';
import { tryOp } from './protobuf';
import { SEMANTIC_KEYS, describe, semanticJson, semanticValue } from './semantic';

/** A fragment written verbatim. */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object written from a list of entries, so a key can appear twice. */
export class Entries {
  constructor(readonly pairs: [string, unknown][]) {}
}

type Obj = Record<string, unknown>;

function write(v: unknown, out: string[]): void {
  if (v instanceof Raw) out.push(v.text);
  else if (v instanceof Entries) {
    out.push('{');
    v.pairs.forEach(([k, x], i) => {
      if (i) out.push(',');
      out.push(JSON.stringify(k), ':');
      write(x, out);
    });
    out.push('}');
  } else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i) out.push(',');
      write(x, out);
    });
    out.push(']');
  } else if (v !== null && typeof v === 'object') {
    out.push('{');
    let first = true;
    for (const k of Object.keys(v)) {
      if (!first) out.push(',');
      first = false;
      out.push(JSON.stringify(k), ':');
      write((v as Obj)[k], out);
    }
    out.push('}');
  } else out.push(v === undefined ? 'null' : JSON.stringify(v));
}

export function writeJson(v: unknown): string {
  const out: string[] = [];
  write(v, out);
  return out.join('');
}

interface Site {
  holder: Obj | unknown[];
  key: string | number;
  value: unknown;
  /** The field name, or for an array element the array's field name. */
  role: string;
}

function sites(v: unknown, out: Site[] = [], role = ''): Site[] {
  if (v instanceof Raw || v instanceof Entries) return out;
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push({ holder: v, key: i, value: x, role });
      sites(x, out, role);
    });
  } else if (v !== null && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      const x = (v as Obj)[k];
      out.push({ holder: v as Obj, key: k, value: x, role: k });
      sites(x, out, k);
    }
  }
  return out;
}

const set = (s: Site, value: unknown) => ((s.holder as Obj)[s.key as string] = value);

function objectsUnder(root: unknown, role: string): Obj[] {
  return sites(root).filter((s) => s.role === role && typeof s.key === 'number' && s.value && typeof s.value === 'object' && !Array.isArray(s.value) && !(s.value instanceof Raw) && !(s.value instanceof Entries)).map((s) => s.value as Obj);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function nestedText(depth: number, rng: Rng, style: 'anyvalue' | 'array' | 'object'): string {
  if (style === 'array') return '['.repeat(depth) + ']'.repeat(depth);
  if (style === 'object') return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    if (rng.chance(0.5)) {
      open.push('{"arrayValue":{"values":[');
      close.push(']}}');
    } else {
      open.push('{"kvlistValue":{"values":[{"key":"k","value":');
      close.push('}]}}');
    }
  }
  return open.join('') + '{"stringValue":"leaf"}' + close.reverse().join('');
}

const NUMBER_TOKENS = ['NaN', 'Infinity', '-Infinity', '1e999', '-1e999', '1e-999', '-0', '0.0', '1.5', '-1', '123456789012345678901234567890', '18446744073709551615', '18446744073709551616', '9223372036854775807', '9223372036854775808', '-9223372036854775809', '9007199254740993', '1E2', '01', '0x1f', '+1', '.5', '1.', '1e', 'true'];
const NUMBER_STRINGS = ['NaN', 'Infinity', '1e999', '-1', '1.5', ' 12', '12 ', '0x10', '', '1e18', '00000000000000000001700000000000000000', '18446744073709551616', '９', '١٢٣'];
const HEX_IDS = (rng: Rng): unknown[] => ['', 'zz', 'abc', '0'.repeat(32), '0'.repeat(16), 'A'.repeat(32), 'AB'.repeat(8), rng.hex(15) + 'g', rng.hex(16) + '0', rng.hex(17), rng.hex(8), 'x'.repeat(1000), Buffer.from(rng.bytes(16)).toString('base64'), '  ' + rng.hex(16), 'é'.repeat(32), 12345, 0, null, true, [], {}, [rng.hex(16)]];

function poolValue(rng: Rng, not: string): unknown {
  for (;;) {
    const v = rng.pick<() => unknown>([
      () => null,
      () => rng.chance(0.5),
      () => 0,
      () => -1,
      () => 1.5,
      () => 2 ** 53 + 2,
      () => 1e308,
      () => new Raw(rng.pick(NUMBER_TOKENS)),
      () => '',
      () => 'x',
      () => rng.hex(8),
      () => '\u0000',
      () => '\ud800',
      () => 'A'.repeat(rng.chance(0.9) ? rng.logInt(10_000) : rng.pick([100_000, 1_000_000])),
      () => [],
      () => [null, 1, 'a', {}],
      () => ({}),
      () => ({ stringValue: 'x' }),
      () => ({ key: 'k', value: { intValue: '1' } }),
      () => new Array(rng.pick([100, 1000, 10_000])).fill(0),
    ])();
    const t = v instanceof Raw ? 'raw' : typeName(v);
    if (t !== not) return v;
  }
}

type JsonOp = (root: Obj, rng: Rng) => [unknown, string] | null;

const jsonOps: [number, JsonOp][] = [
  // Any field given a value of another JSON type.
  [14, (root, rng) => {
    const all = sites(root);
    if (!all.length) return null;
    const s = rng.pick(all);
    set(s, poolValue(rng, typeName(s.value)));
    return [root, `wrong-type/${s.role}:${typeName(s.value)}`];
  }],
  // Ids of the wrong length, not hex, all zero, of another type.
  [8, (root, rng) => {
    const spans = objectsUnder(root, 'spans');
    if (!spans.length) return null;
    const span = rng.pick(spans);
    const field = rng.pick(['traceId', 'spanId', 'parentSpanId', 'trace_id', 'span_id']);
    const value = rng.pick(HEX_IDS(rng));
    span[field] = value;
    return [root, `invalid-id/${field}:${typeof value === 'string' ? `len${value.length}` : typeName(value)}`];
  }],
  // Numbers and numeric strings JSON allows and does not: NaN, Infinity, 1e999, 2^64, -0, hex…
  [8, (root, rng) => {
    const numeric = ['startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano', 'intValue', 'doubleValue', 'kind', 'code', 'droppedAttributesCount', 'flags'];
    const cands = sites(root).filter((s) => typeof s.value === 'number' || numeric.includes(s.role));
    if (!cands.length) return null;
    const s = rng.pick(cands);
    const asString = rng.chance(0.3);
    const token = asString ? rng.pick(NUMBER_STRINGS) : rng.pick(NUMBER_TOKENS);
    set(s, asString ? token : new Raw(token));
    return [root, `number/${s.role}:${asString ? JSON.stringify(token) : token}`];
  }],
  // Deep nesting: AnyValue wrappers around the decoder's limit and far past it; bare arrays/objects anywhere.
  [8, (root, rng) => {
    const depth = rng.pick([1, 8, 31, 32, 33, 34, 64, 500, 5000, 20_000]);
    const attrs = sites(root).filter((s) => s.role === 'attributes' && typeof s.key === 'number');
    if (attrs.length && rng.chance(0.6)) {
      const holder = attrs[0].holder as unknown[];
      holder.push(new Raw(`{"key":"fuzz.deep","value":${nestedText(depth, rng, 'anyvalue')}}`));
      return [root, `deep/anyvalue:${depth}`];
    }
    const all = sites(root);
    if (!all.length) return null;
    const s = rng.pick(all);
    const style = rng.pick(['array', 'object'] as const);
    set(s, new Raw(nestedText(depth * rng.pick([1, 10]), rng, style)));
    return [root, `deep/${style}:${s.role}:${depth}`];
  }],
  // A key twice in one object (JSON.parse keeps the last).
  [5, (root, rng) => {
    const objs = sites(root).filter((s) => s.value && typeof s.value === 'object' && !Array.isArray(s.value) && !(s.value instanceof Raw) && !(s.value instanceof Entries));
    if (!objs.length) return null;
    const s = rng.pick(objs);
    const o = s.value as Obj;
    const pairs = Object.entries(o);
    if (!pairs.length) return null;
    const [k, v] = rng.pick(pairs);
    pairs.splice(rng.int(pairs.length + 1), 0, [k, rng.chance(0.5) ? v : poolValue(rng, typeName(v))]);
    set(s, new Entries(pairs));
    return [root, `dup-key/${k}`];
  }],
  // snake_case names, enum names (real and made up), which exporters other than OTel JS send.
  [4, (root, rng) => {
    const all = sites(root);
    if (rng.chance(0.5)) {
      const spans = objectsUnder(root, 'spans');
      if (!spans.length) return null;
      const v = rng.pick(['SPAN_KIND_SERVER', 'SPAN_KIND_BOGUS', 'span_kind_client', '3', 'STATUS_CODE_ERROR', 7, -1]);
      rng.pick(spans).kind = v;
      return [root, `enum/kind:${v}`];
    }
    let n = 0;
    for (const s of all) {
      if (typeof s.key === 'string' && /[A-Z]/.test(s.key) && rng.chance(0.5)) {
        const snake = s.key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
        if (rng.chance(0.3)) (s.holder as Obj)[snake] = s.value; // both spellings
        else {
          delete (s.holder as Obj)[s.key];
          (s.holder as Obj)[snake] = s.value;
        }
        n++;
      }
    }
    return [root, `snake-case/${n}`];
  }],
  // Times as numbers, with leading zeros, negative, fractional, past uint64.
  [5, (root, rng) => {
    const cands = sites(root).filter((s) => /TimeUnixNano$/.test(s.role));
    if (!cands.length) return null;
    const s = rng.pick(cands);
    const v = rng.pick<unknown>(['0', '-1', '1.5', '1e18', '18446744073709551615', '18446744073709551616', '99999999999999999999999', '0001767225600000000000', 1767225600000000000, 1.5, -5, 0, '', ' 1', null, '9223372036854775807', '9223372036854775808']);
    set(s, v);
    return [root, `time/${s.role}:${JSON.stringify(v)}`];
  }],
  // Hostile strings: lone surrogates, NUL, control characters, very long, prototype keys.
  [6, (root, rng) => {
    const cands = sites(root).filter((s) => typeof s.value === 'string');
    if (!cands.length) return null;
    const s = rng.pick(cands);
    const choice = rng.int(6);
    const v = [
      () => '\ud83d' + (s.value as string) + '\udc00',
      () => '\u0000\u0001\u001f"\\\n\r\t' + (s.value as string),
      () => 'Ω'.repeat(rng.chance(0.8) ? rng.logInt(10_000) : rng.pick([500_000, 1_000_000])),
      () => '__proto__',
      () => '\u202e\ufeff\uffff' + (s.value as string),
      () => '',
    ][choice]();
    if (s.role === 'key' && choice === 3 && rng.chance(0.5)) (s.holder as Obj).key = rng.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty']);
    else set(s, v);
    return [root, `string/${s.role}:${['surrogates', 'controls', 'long', 'proto-key', 'bidi', 'empty'][choice]}`];
  }],
  // Many attributes, events or resources in one request (legal, but large).
  [3, (root, rng) => {
    const spans = objectsUnder(root, 'spans');
    if (!spans.length) return null;
    const span = rng.pick(spans);
    let n = rng.pick([500, 2000, 10_000]);
    const which = rng.int(3);
    if (which === 0) span.attributes = Array.from({ length: n }, (_, i) => ({ key: `k${i % 3000}`, value: { stringValue: `v${i}` } }));
    else if (which === 1) span.events = Array.from({ length: n }, (_, i) => ({ name: `e${i}`, timeUnixNano: '1767225600000000000' }));
    else {
      const rss = (root.resourceSpans ?? root.resource_spans) as unknown[];
      if (!Array.isArray(rss) || !rss.length) return null;
      // Shared references: later mutations visit every copy, so keep the count modest.
      n = Math.max(1, Math.min(n / 20, Math.floor((512 << 10) / writeJson(rss[0]).length)));
      for (let i = 0; i < n; i++) rss.push(rss[0]);
    }
    return [root, `many/${['attributes', 'events', 'resources'][which]}:${n}`];
  }],
  // Fields removed; unknown fields added.
  [5, (root, rng) => {
    const all = sites(root).filter((s) => typeof s.key === 'string');
    if (!all.length) return null;
    const s = rng.pick(all);
    if (rng.chance(0.5)) {
      delete (s.holder as Obj)[s.key as string];
      return [root, `remove/${s.role}`];
    }
    (s.holder as Obj)[rng.pick(['unknownField', 'droppedAttributesCount', 'links', 'schemaUrl', 'traceState', 'flags', '$ref'])] = poolValue(rng, 'none');
    return [root, `unknown-field/${s.role}`];
  }],
  // An array element repeated (duplicate spans, attributes, resources).
  [4, (root, rng) => {
    const items = sites(root).filter((s) => typeof s.key === 'number');
    if (!items.length) return null;
    const s = rng.pick(items);
    const want = rng.chance(0.8) ? 1 : rng.logInt(100);
    const times = Math.min(want, Math.max(1, Math.floor((2 << 20) / writeJson(s.value).length)));
    (s.holder as unknown[]).splice(s.key as number, 0, ...new Array(times).fill(s.value));
    return [root, `dup-item/${s.role}x${times}`];
  }],
  // AnyValue shapes exporters get wrong: bad base64, values not an array, several members at once, bare values.
  [4, (root, rng) => {
    const values = sites(root).filter((s) => s.role === 'value' && s.value && typeof s.value === 'object');
    if (!values.length) return null;
    const s = rng.pick(values);
    const v = rng.pick<unknown>([
      { bytesValue: '!!!not base64' },
      { bytesValue: 'A'.repeat(rng.pick([3, 100_001])) },
      { arrayValue: { values: 'x' } },
      { arrayValue: [] },
      { kvlistValue: { values: [{ key: 1 }, { value: {} }, null, 'x'] } },
      { stringValue: 'a', intValue: '2', boolValue: true },
      { intValue: '99999999999999999999999' },
      { intValue: '-9223372036854775809' },
      { intValue: 1.5 },
      { doubleValue: 'NaN' },
      { boolValue: 'yes' },
      'bare string',
      42,
      [{ stringValue: 'x' }],
    ]);
    set(s, v);
    return [root, `anyvalue/${JSON.stringify(v).slice(0, 40)}`];
  }],
  // The whole request replaced by another JSON value.
  [2, (_root, rng) => {
    const v = rng.pick<unknown>([[], null, 'resourceSpans', 1, true, { resourceSpans: {} }, { resourceSpans: [null] }, { resourceSpans: [[]] }, { resourceSpans: [{ scopeSpans: [{ spans: [null, 1, 'x'] }] }] }, { resource_spans: [] }, {}]);
    return [v, `top/${JSON.stringify(v).slice(0, 40)}`];
  }],
];

// Attributes Canopy interprets, set to extreme values (on a span, or service.name on the resource).
jsonOps.push([8, (root, rng) => {
  const key = rng.pick(SEMANTIC_KEYS);
  const value = semanticValue(rng);
  const holder = key === 'service.name' ? rng.pick(sites(root).filter((s) => s.role === 'resource' && s.value && typeof s.value === 'object' && !Array.isArray(s.value) && !(s.value instanceof Raw) && !(s.value instanceof Entries)).map((s) => s.value as Obj)) : rng.pick(objectsUnder(root, 'spans'));
  if (!Array.isArray(holder.attributes)) holder.attributes = [];
  const attrs = holder.attributes as unknown[];
  const kv = { key, value: semanticJson(value) };
  const at = attrs.findIndex((a) => !!a && typeof a === 'object' && (a as Obj).key === key);
  if (at >= 0) attrs[at] = kv;
  else attrs.push(kv);
  return [root, `semantic/${key}=${describe(value)}`];
}]);

type TextOp = (b: Buffer, rng: Rng, other: Buffer) => [Buffer, string];

const textOps: [number, TextOp][] = [
  [8, (b, rng) => [b.subarray(0, rng.int(b.length + 1)), 'truncate']],
  [8, (b, rng) => {
    const out = Buffer.from(b);
    const n = rng.logInt(16);
    for (let i = 0; i < n && out.length; i++) out[rng.int(out.length)] = rng.pick([rng.u32() & 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x00, 0xff]);
    return [out, `byte-flip/${n}`];
  }],
  [6, (b, rng) => {
    const at = rng.int(b.length + 1);
    return [Buffer.concat([b.subarray(0, at), Buffer.from(rng.bytes(rng.logInt(64))), b.subarray(at)]), 'insert-random'];
  }],
  [4, (b, rng) => {
    const at = rng.int(b.length + 1);
    return [Buffer.concat([b.subarray(0, at), b.subarray(at + rng.logInt(64))]), 'delete-range'];
  }],
  [2, (b) => [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]), 'bom']],
  [2, (b) => [Buffer.from('\ufeff' + b.toString('utf8'), 'utf16le'), 'utf16le']],
  [2, (b, rng) => [Buffer.concat([b, Buffer.from(rng.pick([' ', '\n', '}', ']', ',', '{}', 'x', '\u0000']))]), 'trailing']],
  [2, (b, rng) => [Buffer.concat([Buffer.from(rng.pick([' \n\t', '\u00a0', '//c\n', '/*c*/'])), b]), 'leading']],
  [3, (b, rng, other) => [Buffer.concat([b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1))]), 'splice']],
];

/** A valid JSON export of `targetBytes` or so: the seed's first span copied with fresh ids (see floodProtobuf). */
export function floodJson(seed: unknown, targetBytes: number, rng: Rng): [Buffer, number] {
  const doc = structuredClone(seed) as { resourceSpans: { scopeSpans: { spans: Obj[] }[] }[] };
  const rs = doc.resourceSpans[0];
  const ss = rs.scopeSpans[0];
  const { traceId: _t, spanId: _s, parentSpanId: _p, ...rest } = ss.spans[0];
  const tail = writeJson(rest).slice(1); // the span's other fields and its closing brace
  const one = 9 + 2 + 32 + 13 + 16 + 2 + tail.length;
  const count = Math.max(1, Math.floor(targetBytes / one));
  const parts: string[] = [];
  let traceId = '';
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0) traceId = rng.hex(16);
    parts.push(`{"traceId":"${traceId}","spanId":"${rng.hex(4)}${((rng.u32() | 1) >>> 0).toString(16).padStart(8, '0')}"${tail.length > 1 ? ',' : ''}${tail}`);
  }
  doc.resourceSpans = [{ ...rs, scopeSpans: [{ ...ss, spans: [] }] }];
  const text = writeJson(doc).replace('"spans":[]', `"spans":[${parts.join(',')}]`);
  return [Buffer.from(text), count];
}

export function garbageJson(rng: Rng): [Buffer, string] {
  const choice = rng.int(8);
  const bodies: (() => string | Buffer)[] = [
    () => '',
    () => rng.pick(['null', 'true', '0', '[]', '{}', '"x"', '{"resourceSpans":null}', ' ']),
    () => Buffer.from(rng.bytes(rng.logInt(4096))),
    () => '{"resourceSpans": ['.repeat(rng.logInt(100_000)),
    () => '['.repeat(rng.pick([10, 1000, 100_000, 1_000_000])),
    () => `{"resourceSpans":[${'{},'.repeat(rng.logInt(100_000))}{}]}`,
    () => Buffer.from([0x0a, 0x05, 0x12, 0x03, 0x12, 0x01, 0x00]),
    () => '{"a":"' + '\\u'.repeat(rng.logInt(1000)) + '"}',
  ];
  const body = bodies[choice]();
  return [Buffer.isBuffer(body) ? body : Buffer.from(body), `garbage/${['empty', 'scalar', 'random', 'open-objects', 'open-arrays', 'many-empty-resources', 'protobuf-bytes', 'bad-escapes'][choice]}`];
}

/** One to three structured mutations, then maybe a text-level one. */
export function mutateJson(seed: unknown, other: Buffer, rng: Rng, maxBytes: number): [Buffer, string[]] {
  const structural = rng.chance(0.75);
  let body: Buffer = Buffer.alloc(0);
  let names: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    let root: unknown = structuredClone(seed);
    names = [];
    if (structural) {
      const n = rng.weighted([[6, 1], [3, 2], [1, 3]] as const);
      for (let i = 0; i < n * 3 && names.length < n; i++) {
        if (!root || typeof root !== 'object' || Array.isArray(root)) break;
        const r = tryOp(() => rng.weighted(jsonOps)(root as Obj, rng));
        if (r) {
          root = r[0];
          names.push(r[1]);
        }
      }
    }
    body = Buffer.from(writeJson(root));
    // Repeated subtrees can multiply a large value: try again when it got too big.
    if (body.length <= maxBytes) break;
    body = Buffer.from(writeJson(seed));
    names = [];
  }
  if (!structural || rng.chance(0.3)) {
    const [b, name] = rng.weighted(textOps)(body, rng, other);
    body = b;
    names.push(name);
  }
  return [body, names];
}
