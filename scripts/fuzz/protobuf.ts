// Structure-aware mutation of OTLP protobuf bodies: a valid export is parsed into a field tree (message
// types from opentelemetry-proto, written out here independently of the server's schema), mutated, and
// written back, either with correct lengths (a well-framed but hostile message) or with corrupted framing.
import zlib from 'node:zlib';
import { NoChoice, type Rng } from './prng';
import { SEMANTIC_KEYS, describe, semanticValue, type SemanticValue } from './semantic';

/** Runs a mutation; one that found nowhere to apply gives null. */
export function tryOp<T>(op: () => T | null): T | null {
  try {
    return op();
  } catch (err) {
    if (err instanceof NoChoice) return null;
    throw err;
  }
}

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;

/** Message-typed fields of each message (field number → type); every other LEN field is bytes/string. */
const MESSAGES: Record<string, Record<number, string>> = {
  Request: { 1: 'ResourceSpans' },
  ResourceSpans: { 1: 'Resource', 2: 'ScopeSpans' },
  Resource: { 1: 'KeyValue', 3: 'EntityRef' },
  EntityRef: {},
  ScopeSpans: { 1: 'Scope', 2: 'Span' },
  Scope: { 3: 'KeyValue' },
  Span: { 9: 'KeyValue', 11: 'Event', 13: 'Link', 15: 'Status' },
  Event: { 3: 'KeyValue' },
  Link: { 4: 'KeyValue' },
  Status: {},
  KeyValue: { 2: 'AnyValue' },
  AnyValue: { 5: 'ArrayValue', 6: 'KeyValueList' },
  ArrayValue: { 1: 'AnyValue' },
  KeyValueList: { 1: 'KeyValue' },
};

export interface PNode {
  num: number;
  wt: number;
  /** VARINT: the varint's bytes; I64/I32: the fixed bytes; LEN without kids: the content. */
  data: Uint8Array;
  /** Parsed sub-message (LEN fields of message type). */
  kids?: PNode[];
  type?: string;
  /** Raw bytes written instead of the tag / the length prefix (framing corruption). */
  tag?: Uint8Array;
  len?: Uint8Array;
}

export function varint(v: number | bigint, minBytes = 1): Uint8Array {
  if (typeof v === 'number' && minBytes === 1 && v >= 0 && v < 0x10000000) {
    // The common case, without BigInt.
    const out: number[] = [];
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    out.push(v);
    return Uint8Array.from(out);
  }
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  } while (n > 0n || out.length < minBytes);
  out[out.length - 1] &= 0x7f;
  return Uint8Array.from(out);
}

const tagOf = (num: number, wt: number) => (num < 0x1000000 ? varint(num * 8 + wt) : varint((BigInt(num) << 3n) | BigInt(wt)));

function readVarint(b: Uint8Array, pos: number): [bigint, number] {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) throw new Error('truncated varint');
    const x = b[pos++];
    v |= BigInt(x & 0x7f) << BigInt(7 * i);
    if (x < 0x80) return [v, pos];
  }
  throw new Error('varint too long');
}

/** Parses a well-formed message; throws on anything malformed (only used on valid bodies). */
export function parse(bytes: Uint8Array, type = 'Request'): PNode[] {
  const out: PNode[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const [tag, p1] = readVarint(bytes, pos);
    const num = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    pos = p1;
    if (wt === VARINT) {
      const [, p2] = readVarint(bytes, pos);
      out.push({ num, wt, data: bytes.subarray(pos, p2) });
      pos = p2;
    } else if (wt === I64 || wt === I32) {
      const n = wt === I64 ? 8 : 4;
      if (pos + n > bytes.length) throw new Error('truncated fixed');
      out.push({ num, wt, data: bytes.subarray(pos, pos + n) });
      pos += n;
    } else if (wt === LEN) {
      const [len, p2] = readVarint(bytes, pos);
      const end = p2 + Number(len);
      if (end > bytes.length) throw new Error('length past end');
      const data = bytes.subarray(p2, end);
      const sub = MESSAGES[type]?.[num];
      out.push(sub ? { num, wt, data, kids: parse(data, sub), type: sub } : { num, wt, data });
      pos = end;
    } else throw new Error(`wire type ${wt}`);
  }
  return out;
}

function write(nodes: PNode[], chunks: Uint8Array[]): number {
  let size = 0;
  for (const n of nodes) {
    const tag = n.tag ?? tagOf(n.num, n.wt);
    chunks.push(tag);
    size += tag.length;
    if (n.wt === LEN || n.len) {
      let content: Uint8Array;
      if (n.kids) {
        const sub: Uint8Array[] = [];
        write(n.kids, sub);
        content = Buffer.concat(sub);
      } else content = n.data;
      const len = n.len ?? varint(content.length);
      chunks.push(len, content);
      size += len.length + content.length;
    } else {
      chunks.push(n.data);
      size += n.data.length;
    }
  }
  return size;
}

/** The serialized size, without building the bytes (a shared subtree is counted each time it appears). */
export function sizeOf(nodes: PNode[]): number {
  let size = 0;
  for (const n of nodes) {
    size += (n.tag ?? tagOf(n.num, n.wt)).length;
    if (n.wt === LEN || n.len) {
      const content = n.kids ? sizeOf(n.kids) : n.data.length;
      size += (n.len ?? varint(content)).length + content;
    } else size += n.data.length;
  }
  return size;
}

export function serialize(nodes: PNode[]): Buffer {
  const chunks: Uint8Array[] = [];
  write(nodes, chunks);
  return Buffer.concat(chunks);
}

interface Site {
  node: PNode;
  list: PNode[];
  index: number;
  /** Type of the message holding this field. */
  parent: string;
  depth: number;
}

function sites(nodes: PNode[], parent = 'Request', depth = 0, out: Site[] = []): Site[] {
  nodes.forEach((node, index) => {
    out.push({ node, list: nodes, index, parent, depth });
    if (node.kids) sites(node.kids, node.type!, depth + 1, out);
  });
  return out;
}

/** Lists of children of every message of `type` (including the top-level request). */
function messagesOf(nodes: PNode[], type: string): PNode[][] {
  const out: PNode[][] = type === 'Request' ? [nodes] : [];
  for (const s of sites(nodes)) if (s.node.type === type && s.node.kids) out.push(s.node.kids);
  return out;
}

const len = (num: number, content: Uint8Array): PNode => ({ num, wt: LEN, data: content });
const msg = (num: number, type: string, kids: PNode[]): PNode => ({ num, wt: LEN, data: new Uint8Array(), kids, type });
const str = (num: number, s: string): PNode => len(num, Buffer.from(s));

/**
 * AnyValue bytes nested `depth` levels through array_value / kvlist_value, built inside-out with the length
 * prefixes computed as it goes (linear, so depths in the tens of thousands are cheap).
 */
export function nestedAnyValue(depth: number, rng: Rng): Uint8Array {
  const leaf = Buffer.concat([tagOf(1, LEN), varint(4), Buffer.from('leaf')]);
  const headers: Uint8Array[] = [];
  let size = leaf.length;
  const push = (h: Uint8Array) => {
    headers.push(h);
    size += h.length;
  };
  const kvKey = Buffer.concat([tagOf(1, LEN), varint(1), Buffer.from('k')]);
  for (let i = 0; i < depth; i++) {
    if (rng.chance(0.5)) {
      // AnyValue{array_value: ArrayValue{values: [inner]}}
      push(Buffer.concat([tagOf(1, LEN), varint(size)]));
      push(Buffer.concat([tagOf(5, LEN), varint(size)]));
    } else {
      // AnyValue{kvlist_value: KeyValueList{values: [KeyValue{key: "k", value: inner}]}}
      push(Buffer.concat([kvKey, tagOf(2, LEN), varint(size)]));
      push(Buffer.concat([tagOf(1, LEN), varint(size)]));
      push(Buffer.concat([tagOf(6, LEN), varint(size)]));
    }
  }
  headers.reverse();
  return Buffer.concat([...headers, leaf]);
}

const hugeVarints = (): Uint8Array[] => [
  varint(0xffffffffffffffffn), // 10 bytes, the largest uint64
  varint(0x8000000000000000n), // int64 min
  varint(0xffffffffn),
  varint(0x100000000n),
  varint(-1),
  varint(0, 10), // overlong zero, 10 bytes
  varint(1, 10),
  Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // 10 bytes, bits past 64
  Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), // 11 bytes: too long
  Uint8Array.from(new Array(40).fill(0xff)), // never terminates
];

function randomPayload(rng: Rng, wt: number): PNode['data'] {
  if (wt === VARINT) return rng.chance(0.5) ? rng.pick(hugeVarints()) : varint(rng.u32());
  if (wt === I64) return rng.bytes(8);
  if (wt === I32) return rng.bytes(4);
  return rng.bytes(rng.logInt(64));
}

function specialDouble(rng: Rng): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(rng.pick([NaN, Infinity, -Infinity, -0, Number.MAX_VALUE, Number.MIN_VALUE, 1e300, -1e300, 2 ** 64]));
  if (rng.chance(0.2)) b.writeUInt32LE(rng.u32(), 0); // NaN payloads
  return b;
}

function invalidUtf8(rng: Rng): Uint8Array {
  return rng.pick([
    Uint8Array.from([0xff, 0xfe]),
    Uint8Array.from([0xc0, 0x80]), // overlong NUL
    Uint8Array.from([0xed, 0xa0, 0x80]), // a UTF-16 surrogate in UTF-8
    Uint8Array.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
    Uint8Array.from([0xe2, 0x82]), // truncated
    Uint8Array.from([0x00, 0x00, 0x22, 0x5c, 0x0a]), // NUL, quote, backslash, newline
    rng.bytes(rng.logInt(32)),
  ]);
}

/** A structured mutation: returns its name, or null when the body had no place for it. */
type StructOp = (nodes: PNode[], rng: Rng) => string | null;

const structOps: [number, StructOp][] = [
  // A length prefix that disagrees with what follows.
  [10, (nodes, rng) => {
    const cands = sites(nodes).filter((s) => s.node.wt === LEN);
    if (!cands.length) return null;
    const n = rng.pick(cands).node;
    const actual = n.kids ? serialize(n.kids).length : n.data.length;
    const choice = rng.int(9);
    n.len = [varint(actual + 1), varint(Math.max(0, actual - 1)), varint(0), varint(actual * 2 + 7), varint(0x7fffffff), varint(0xffffffff), varint(2n ** 35n), varint(actual, rng.range(2, 10)), varint(rng.u32())][choice];
    return `len-corrupt/${['+1', '-1', '0', 'x2', '2^31', '2^32-1', '2^35', 'overlong', 'random'][choice]}`;
  }],
  // The same field again (a repeated message many times, or a singular one twice: last wins).
  [10, (nodes, rng) => {
    const s = rng.pick(sites(nodes));
    const want = rng.chance(0.8) ? 1 : rng.logInt(200);
    const times = Math.min(want, Math.max(1, Math.floor((2 << 20) / sizeOf([s.node]))));
    const copies = Array.from({ length: times }, () => s.node);
    if (rng.chance(0.5)) s.list.splice(s.index + 1, 0, ...copies);
    else s.list.push(...copies);
    return `dup-field/${s.parent}.${s.node.num}x${times}`;
  }],
  // The wire type in the tag changed, the payload kept (or re-encoded for the new wire type).
  [10, (nodes, rng) => {
    const s = rng.pick(sites(nodes));
    const wt = rng.pick([0, 1, 2, 3, 4, 5, 6, 7].filter((w) => w !== s.node.wt));
    if (rng.chance(0.5)) {
      s.node.tag = tagOf(s.node.num, wt);
      return `wire-type/${s.parent}.${s.node.num}:${s.node.wt}->${wt}/kept`;
    }
    s.list[s.index] = { num: s.node.num, wt, data: randomPayload(rng, wt) };
    return `wire-type/${s.parent}.${s.node.num}:${s.node.wt}->${wt}/re-encoded`;
  }],
  // Varints too large for their fields, overlong or never-ending; huge field numbers.
  [8, (nodes, rng) => {
    const all = sites(nodes);
    const vars = all.filter((s) => s.node.wt === VARINT);
    if (vars.length && rng.chance(0.6)) {
      const s = rng.pick(vars);
      s.node.data = rng.pick(hugeVarints());
      return `huge-varint/${s.parent}.${s.node.num}`;
    }
    const s = rng.pick(all);
    const choice = rng.int(4);
    s.node.tag = [varint((0x1fffffffn << 3n) | BigInt(s.node.wt)), varint((0x20000000n << 3n) | BigInt(s.node.wt)), varint(BigInt(s.node.num << 3 | s.node.wt), 10), varint(s.node.wt)][choice];
    return `huge-tag/${['max-field', 'field-2^29', 'overlong-tag', 'field-0'][choice]}`;
  }],
  // Unknown fields of every wire type (groups included) anywhere.
  [6, (nodes, rng) => {
    const s = rng.pick(sites(nodes).filter((x) => x.node.kids));
    const list = s ? s.node.kids! : nodes;
    const wt = rng.pick([0, 1, 2, 3, 4, 5, 6, 7]);
    const num = rng.pick([16, 17, 99, 1000, 19000, 536870911, rng.range(1, 40)]);
    list.splice(rng.int(list.length + 1), 0, { num, wt, data: wt === SGROUP || wt === EGROUP || wt > 5 ? rng.bytes(rng.int(8)) : randomPayload(rng, wt) });
    return `unknown-field/${num}:${wt}`;
  }],
  // AnyValue nested through arrays and kvlists, around the decoder's depth limit and far past it.
  [8, (nodes, rng) => {
    const spans = messagesOf(nodes, 'Span');
    if (!spans.length) return null;
    const depth = rng.pick([1, 8, 31, 32, 33, 34, 64, 500, 5000, 20_000]);
    const value = nestedAnyValue(depth, rng);
    rng.pick(spans).push(msg(9, 'KeyValue', [str(1, 'fuzz.deep'), len(2, value)]));
    return `deep-anyvalue/${depth}`;
  }],
  // Trace, span and parent ids of the wrong length or all zero.
  [8, (nodes, rng) => {
    const spans = messagesOf(nodes, 'Span');
    if (!spans.length) return null;
    const span = rng.pick(spans);
    const num = rng.pick([1, 2, 4]);
    const n = rng.pick([0, 1, 7, 8, 9, 15, 16, 17, 32, 1000]);
    const bytes = rng.chance(0.3) ? new Uint8Array(n) : rng.bytes(n);
    const i = span.findIndex((f) => f.num === num);
    if (i >= 0) span[i] = len(num, bytes);
    else span.push(len(num, bytes));
    return `invalid-id/${['', 'trace', 'span', '', 'parent'][num]}:${n}${bytes.every((b) => b === 0) ? ':zero' : ''}`;
  }],
  // Scalars at their extremes: NaN/Infinity doubles, max times, unknown enums, odd bools and ints.
  [8, (nodes, rng) => {
    const all = sites(nodes);
    const cands = all.filter((s) => s.node.wt === I64 || s.node.wt === I32 || s.node.wt === VARINT);
    if (!cands.length) return null;
    const s = rng.pick(cands);
    if (s.node.wt === I64) s.node.data = s.parent === 'AnyValue' || rng.chance(0.3) ? specialDouble(rng) : rng.pick([new Uint8Array(8), new Uint8Array(8).fill(0xff), rng.bytes(8), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0x80])]);
    else if (s.node.wt === I32) s.node.data = rng.bytes(4);
    else s.node.data = rng.pick([varint(2), varint(6), varint(0x7fffffff), varint(-1), varint(rng.u32()), varint(2n ** 63n - 1n)]);
    return `extreme-scalar/${s.parent}.${s.node.num}`;
  }],
  // Hostile strings: invalid UTF-8, NUL, quotes, very long names and values.
  [8, (nodes, rng) => {
    const cands = sites(nodes).filter((s) => s.node.wt === LEN && !s.node.kids && !(s.parent === 'Span' && [1, 2, 4].includes(s.node.num)));
    if (!cands.length) return null;
    const s = rng.pick(cands);
    const choice = rng.int(3);
    if (choice === 0) s.node.data = Buffer.concat([s.node.data.subarray(0, rng.int(s.node.data.length + 1)), invalidUtf8(rng), s.node.data]);
    else if (choice === 1) s.node.data = Buffer.alloc(rng.chance(0.8) ? rng.logInt(65_536) : rng.pick([1 << 20, 4 << 20]), rng.pick([0x41, 0x22, 0x5c, 0x00, 0xff]));
    else s.node.data = new Uint8Array();
    return `string/${s.parent}.${s.node.num}:${['invalid-utf8', 'long', 'empty'][choice]}`;
  }],
  // Many attributes, events or spans in one request (legal, but large).
  [3, (nodes, rng) => {
    const spans = messagesOf(nodes, 'Span');
    if (!spans.length) return null;
    const span = rng.pick(spans);
    const n = rng.pick([500, 2000, 10_000]);
    const kind = rng.int(2);
    for (let i = 0; i < n; i++) {
      if (kind === 0) span.push(msg(9, 'KeyValue', [str(1, `k${i % 3000}`), msg(2, 'AnyValue', [str(1, `v${i}`)])]));
      else span.push(msg(11, 'Event', [str(2, `e${i}`)]));
    }
    return `many/${kind === 0 ? 'attributes' : 'events'}:${n}`;
  }],
  // A subtree replaced by another of a different type (type confusion).
  [6, (nodes, rng) => {
    const all = sites(nodes).filter((s) => s.node.wt === LEN);
    if (all.length < 2) return null;
    const a = rng.pick(all);
    const b = rng.pick(all);
    // As bytes, so the tree cannot come to contain itself (b may be an ancestor of a).
    a.list[a.index] = { num: a.node.num, wt: LEN, data: b.node.kids ? serialize(b.node.kids) : b.node.data };
    return `swap/${a.parent}.${a.node.num}<-${b.parent}.${b.node.num}`;
  }],
  // Fields removed or reordered (proto allows any order).
  [6, (nodes, rng) => {
    const s = rng.pick(sites(nodes));
    if (rng.chance(0.5)) {
      s.list.splice(s.index, 1);
      return `remove/${s.parent}.${s.node.num}`;
    }
    for (let i = s.list.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [s.list[i], s.list[j]] = [s.list[j], s.list[i]];
    }
    return `shuffle/${s.parent}`;
  }],
];

function anyValueKids(v: SemanticValue): PNode[] {
  switch (v.t) {
    case 'int':
      return [{ num: 3, wt: VARINT, data: varint(v.v) }];
    case 'double': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v.v);
      return [{ num: 4, wt: I64, data: b }];
    }
    case 'string':
      return [str(1, v.v)];
    case 'bool':
      return [{ num: 2, wt: VARINT, data: varint(v.v ? 1 : 0) }];
    case 'array':
      return [msg(5, 'ArrayValue', v.v.map((x) => msg(1, 'AnyValue', anyValueKids(x))))];
  }
}

// Attributes Canopy interprets, set to extreme values (on a span, or service.name on the resource).
structOps.push([8, (nodes, rng) => {
  const key = rng.pick(SEMANTIC_KEYS);
  const value = semanticValue(rng);
  const holders = key === 'service.name' ? messagesOf(nodes, 'Resource') : messagesOf(nodes, 'Span');
  const holder = rng.pick(holders);
  const num = key === 'service.name' ? 1 : 9;
  const kv = msg(num, 'KeyValue', [str(1, key), msg(2, 'AnyValue', anyValueKids(value))]);
  // Replace the key where it is (a later duplicate would win anyway), else add it.
  const at = holder.findIndex((f) => f.num === num && f.kids?.some((k) => k.num === 1 && Buffer.from(k.data).toString() === key));
  if (at >= 0) holder[at] = kv;
  else holder.push(kv);
  return `semantic/${key}=${describe(value)}`;
}]);

/** A byte-level mutation of the serialized body. */
type ByteOp = (b: Buffer, rng: Rng, other: Uint8Array) => [Buffer, string];

const byteOps: [number, ByteOp][] = [
  [10, (b, rng) => {
    const out = Buffer.from(b);
    const n = rng.logInt(16);
    for (let i = 0; i < n && out.length; i++) out[rng.int(out.length)] = rng.u32() & 0xff;
    return [out, `byte-flip/${n}`];
  }],
  [6, (b, rng) => {
    const out = Buffer.from(b);
    const n = rng.logInt(8);
    for (let i = 0; i < n && out.length; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
    return [out, `bit-flip/${n}`];
  }],
  [8, (b, rng) => [b.subarray(0, rng.int(b.length + 1)), 'truncate']],
  [6, (b, rng) => {
    const at = rng.int(b.length + 1);
    return [Buffer.concat([b.subarray(0, at), rng.bytes(rng.logInt(64)), b.subarray(at)]), 'insert-random']; 
  }],
  [4, (b, rng) => {
    const at = rng.int(b.length + 1);
    return [Buffer.concat([b.subarray(0, at), b.subarray(at + rng.logInt(64))]), 'delete-range'];
  }],
  [3, (b, rng, other) => [Buffer.concat([b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1))]), 'splice']],
  [3, (b, rng) => [Buffer.concat([b, rng.bytes(rng.logInt(256))]), 'append-garbage']],
];

/**
 * A valid export of `targetBytes` or so: the seed's first span copied with fresh span ids (and a new trace id
 * every 100 spans). Well-formed and legal, just large: what memory must be bounded against.
 */
export function floodProtobuf(seed: Uint8Array, targetBytes: number, rng: Rng): [Buffer, number] {
  const nodes = parse(seed);
  const rs = nodes.find((n) => n.type === 'ResourceSpans')!;
  const ss = rs.kids!.find((n) => n.type === 'ScopeSpans')!;
  const span = ss.kids!.find((n) => n.type === 'Span')!;
  // Written straight into one buffer: span = tag, length, trace id, span id, the seed span's other fields.
  const rest = serialize(span.kids!.filter((f) => f.num !== 1 && f.num !== 2 && f.num !== 4));
  const inner = 2 + 16 + 2 + 8 + rest.length;
  const head = Buffer.concat([tagOf(2, LEN), varint(inner)]);
  const one = head.length + inner;
  const count = Math.max(1, Math.floor(targetBytes / one));
  const spans = Buffer.allocUnsafe(one * count);
  let traceId = rng.bytes(16);
  for (let i = 0, at = 0; i < count; i++) {
    if (i % 100 === 0) traceId = rng.bytes(16);
    at += head.copy(spans, at);
    spans[at++] = 0x0a;
    spans[at++] = 16;
    spans.set(traceId, at);
    at += 16;
    spans[at++] = 0x12;
    spans[at++] = 8;
    spans.writeUInt32LE(rng.u32(), at);
    spans.writeUInt32LE((rng.u32() | 1) >>> 0, at + 4);
    at += 8;
    at += rest.copy(spans, at);
  }
  const scope = ss.kids!.filter((f) => f.num === 1);
  const resource = rs.kids!.filter((f) => f.num === 1);
  return [serialize([msg(1, 'ResourceSpans', [...resource, len(2, Buffer.concat([serialize(scope), spans]))])]), count];
}

/** Bodies that are not derived from a valid export at all. */
export function garbageProtobuf(rng: Rng): [Buffer, string] {
  const choice = rng.int(7);
  switch (choice) {
    case 0:
      return [Buffer.alloc(0), 'garbage/empty'];
    case 1:
      return [Buffer.from(rng.bytes(rng.logInt(4096))), 'garbage/random'];
    case 2:
      return [Buffer.from('{"resourceSpans":[]}'), 'garbage/json-text'];
    case 3:
      return [Buffer.from(Array.from({ length: rng.logInt(2000) }, () => rng.pick([0x0a, 0x12, 0x80, 0xff, 0x00]))), 'garbage/tag-soup'];
    case 4: {
      // resource_spans{scope_spans{spans{…}}} nested as far as the bytes allow, each claiming a huge length.
      const depth = rng.logInt(10_000);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < depth; i++) parts.push(tagOf(rng.pick([1, 2, 5, 6, 9]), LEN), varint(rng.u32()));
      return [Buffer.concat(parts), `garbage/open-lengths:${depth}`];
    }
    case 5:
      return [zlib.gzipSync(Buffer.from(rng.bytes(rng.logInt(1024)))), 'garbage/gzip-bytes-as-protobuf'];
    default: {
      // Groups that never close, and end-groups with no start.
      const parts: Uint8Array[] = [];
      for (let i = 0; i < rng.logInt(500); i++) parts.push(tagOf(rng.range(1, 20), rng.pick([SGROUP, EGROUP])));
      return [Buffer.concat(parts), 'garbage/groups'];
    }
  }
}

/** Bodies stay below this (the server's limit is 16 MiB): fuzzing is about shape, not volume. */
export const MAX_FUZZ_BODY = 8 << 20;

/** One to three structured mutations, then maybe a byte-level one. */
export function mutateProtobuf(seed: Uint8Array, other: Uint8Array, rng: Rng): [Buffer, string[]] {
  let nodes: PNode[] = [];
  let names: string[] = [];
  const structural = rng.chance(0.75);
  for (let attempt = 0; attempt < 5; attempt++) {
    nodes = parse(seed);
    names = [];
    if (!structural) break;
    const n = rng.weighted([[6, 1], [3, 2], [1, 3]] as const);
    for (let i = 0; i < n * 3 && names.length < n; i++) {
      const name = tryOp(() => rng.weighted(structOps)(nodes, rng));
      if (name) names.push(name);
    }
    // Duplicated subtrees share nodes, so a later mutation can multiply: try again when it got too big.
    if (sizeOf(nodes) <= MAX_FUZZ_BODY) break;
    nodes = parse(seed);
    names = [];
  }
  let body = serialize(nodes);
  if (!structural || rng.chance(0.3)) {
    const [b, name] = rng.weighted(byteOps)(body, rng, other);
    body = b;
    names.push(name);
  }
  return [body, names];
}
