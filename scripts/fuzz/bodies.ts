// Body number `index` of a run, reproducible from (seed, index): a format, a seed export from the corpus,
// mutations, a compression step and request headers.
import zlib from 'node:zlib';
import { Rng } from './prng';
import type { SeedBody } from './corpus';
import { MAX_FUZZ_BODY, floodProtobuf, garbageProtobuf, mutateProtobuf } from './protobuf';
import { floodJson, garbageJson, mutateJson } from './json';

export type BodyFormat = 'protobuf' | 'json';

export interface FuzzBody {
  index: number;
  /** What the bytes are (before compression). */
  format: BodyFormat;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  body: Buffer;
  /** Sent with Transfer-Encoding: chunked in these pieces instead of with a Content-Length. */
  chunks?: Buffer[];
  seedName: string;
  mutations: string[];
  encoding: string;
  /** An unmutated export, correctly labelled: must be accepted (200, nothing rejected). */
  control: boolean;
  /** The status this body must get, when it is certain (bombs and oversize bodies: 413; no key: 401). */
  mustBe?: number;
  /** Sent to the main port (UI + API + OTLP) or the OTLP-only port; both serve /v1/traces. */
  port: 'main' | 'otlp';
  /** The Authorization header, when the server has API keys (BodyContext.apiKey). */
  authorization?: string;
}

export interface BodyContext {
  seed: number;
  corpus: SeedBody[];
  /** The server's CANOPY_MAX_BODY_BYTES. */
  maxBodyBytes: number;
  /** The server's API key, when it has one: most bodies carry it, some carry none or a wrong one (401). */
  apiKey?: string;
  /** Also send ~0.5% valid exports of 1–15 MiB with up to ~220,000 spans (a memory stress, not malformed). */
  flood?: boolean;
}

const bombs = new Map<string, Buffer>();
/** Compressed bodies that inflate past the server's limit (cached: ~17 KiB on the wire each). */
function bomb(kind: 'gzip' | 'deflate', fill: number, maxBodyBytes: number): Buffer {
  const key = `${kind}/${fill}/${maxBodyBytes}`;
  let b = bombs.get(key);
  if (!b) {
    const raw = Buffer.alloc(maxBodyBytes + (1 << 20), fill);
    b = kind === 'gzip' ? zlib.gzipSync(raw, { level: 9 }) : zlib.deflateSync(raw, { level: 9 });
    bombs.set(key, b);
  }
  return b;
}

const CANONICAL: Record<BodyFormat, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };
const VARIANTS: Record<BodyFormat, string[]> = {
  protobuf: ['application/protobuf', 'Application/X-Protobuf', 'application/x-protobuf; charset=binary', ' application/x-protobuf ', 'application/x-protobuf;proto=opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'],
  json: ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=latin1', ' application/json'],
};
const UNSUPPORTED = [undefined, '', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'application/jsonl', 'application/grpc', 'multipart/form-data; boundary=x', 'application/x-protobuf+json', 'application/json-seq', 'application', '*/*', 'application/x-protobuf\u00e9'];
const ODD_ENCODINGS = ['br', 'zstd', 'compress', 'gzip, deflate', 'GZIP', ' gzip ', 'x-gzip', 'identity, gzip', '*', 'deflate;q=1', 'chunked', 'gzip;', 'aes128gcm', 'none', 'Deflate', 'identity;q=0'];
/** What the server should treat as gzip / deflate (case and surrounding spaces aside). */
const GZIP_LIKE = new Set(['gzip', 'x-gzip']);

function pickContentType(rng: Rng, format: BodyFormat): [string | undefined, string] {
  const r = rng.float();
  if (r < 0.88) return [CANONICAL[format], 'canonical'];
  if (r < 0.92) return [rng.pick(VARIANTS[format]), 'variant'];
  if (r < 0.96) return [CANONICAL[format === 'json' ? 'protobuf' : 'json'], 'swapped'];
  return [rng.pick(UNSUPPORTED), 'unsupported'];
}

function corrupt(rng: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const n = rng.logInt(8);
  for (let i = 0; i < n && out.length; i++) out[rng.int(out.length)] = rng.u32() & 0xff;
  return out;
}

function encode(rng: Rng, body: Buffer, format: BodyFormat, ctx: BodyContext): { body: Buffer; header: string | undefined; label: string; mustBe?: number } {
  const which = rng.weighted([
    [60, 'identity'],
    [4, 'identity-header'],
    [14, 'gzip'],
    [5, 'deflate'],
    [3, 'gzip-corrupt'],
    [2, 'gzip-truncated'],
    [2, 'deflate-raw'],
    [2, 'gzip-header-plain'],
    [2, 'double-gzip'],
    [4, 'odd-header'],
    [0.3, 'gzip-bomb'],
    [0.2, 'deflate-bomb'],
    [0.15, 'oversize'],
  ] as const);
  switch (which) {
    case 'identity':
      return { body, header: undefined, label: which };
    case 'identity-header':
      return { body, header: rng.pick(['identity', 'Identity', '']), label: which };
    case 'gzip':
      return { body: zlib.gzipSync(body, { level: rng.range(1, 9) }), header: 'gzip', label: which };
    case 'deflate':
      return { body: zlib.deflateSync(body), header: 'deflate', label: which };
    case 'gzip-corrupt':
      return { body: corrupt(rng, zlib.gzipSync(body)), header: 'gzip', label: which };
    case 'gzip-truncated': {
      const g = zlib.gzipSync(body);
      return { body: g.subarray(0, rng.int(g.length)), header: 'gzip', label: which };
    }
    case 'deflate-raw':
      return { body: zlib.deflateRawSync(body), header: 'deflate', label: which };
    case 'gzip-header-plain':
      return { body, header: 'gzip', label: which };
    case 'double-gzip':
      return { body: zlib.gzipSync(zlib.gzipSync(body)), header: 'gzip', label: which };
    case 'odd-header': {
      const header = rng.pick(ODD_ENCODINGS);
      const norm = header.trim().toLowerCase();
      const b = GZIP_LIKE.has(norm) ? zlib.gzipSync(body) : norm === 'deflate' ? zlib.deflateSync(body) : body;
      return { body: b, header, label: `odd-header:${header.trim()}` };
    }
    case 'gzip-bomb':
      return { body: bomb('gzip', format === 'json' ? 0x20 : 0, ctx.maxBodyBytes), header: 'gzip', label: which, mustBe: 413 };
    case 'deflate-bomb':
      return { body: bomb('deflate', 0x20, ctx.maxBodyBytes), header: 'deflate', label: which, mustBe: 413 };
    case 'oversize':
      return { body: Buffer.alloc(ctx.maxBodyBytes + 1 + rng.int(1024), 0x20), header: undefined, label: which, mustBe: 413 };
  }
}

function split(rng: Rng, body: Buffer): Buffer[] {
  const n = Math.min(body.length, rng.logInt(32));
  const cuts = Array.from({ length: n - 1 }, () => rng.int(body.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, body.length]) {
    if (c > at) out.push(body.subarray(at, c));
    at = c;
  }
  return out;
}

/** The index-th body of the run: the same for the same seed, whatever else the run does. */
export function makeBody(index: number, ctx: BodyContext): FuzzBody {
  const rng = new Rng(ctx.seed, index);
  const format: BodyFormat = rng.chance(0.5) ? 'protobuf' : 'json';
  const port = rng.chance(0.5) ? 'otlp' : 'main';
  let authorization: string | undefined;
  let unauthorised = false;
  if (ctx.apiKey !== undefined) {
    unauthorised = rng.chance(0.05);
    authorization = unauthorised ? rng.pick([undefined, `Bearer ${ctx.apiKey}x`, 'Bearer ', `Basic ${Buffer.from(`u:${ctx.apiKey}`).toString('base64')}`, ctx.apiKey, `Bearer ${ctx.apiKey.slice(1)}`]) : `Bearer ${ctx.apiKey}`;
  }
  const seed = rng.pick(ctx.corpus);
  const other = rng.pick(ctx.corpus);
  // The same draw with or without flood, so every other body is the same either way.
  let kind = rng.weighted([[4, 'control'], [6, 'garbage'], [0.5, 'flood'], [89.5, 'mutated']] as const);
  if (kind === 'flood' && !ctx.flood) kind = 'mutated';
  let raw: Buffer;
  let mutations: string[];
  if (kind === 'control') {
    raw = Buffer.from(format === 'protobuf' ? seed.protobuf : seed.jsonText);
    mutations = [];
  } else if (kind === 'garbage') {
    const [b, name] = format === 'protobuf' ? garbageProtobuf(rng) : garbageJson(rng);
    raw = b;
    mutations = [name];
  } else if (kind === 'flood') {
    // Large and valid, up to just under the body limit; compressed or not like any other body.
    const target = Math.min(ctx.maxBodyBytes - 4096, rng.pick([1, 4, 8, 15]) << 20);
    const [b, spans] = format === 'protobuf' ? floodProtobuf(seed.protobuf, target, rng) : floodJson(seed.json, target, rng);
    raw = b;
    mutations = [`flood/${spans}-spans`];
  } else if (format === 'protobuf') {
    [raw, mutations] = mutateProtobuf(seed.protobuf, other.protobuf, rng);
  } else {
    [raw, mutations] = mutateJson(seed.json, Buffer.from(other.jsonText), rng, MAX_FUZZ_BODY);
  }

  if (kind === 'control') {
    // A valid export, correctly labelled, compressed as exporters do (or not).
    const enc = rng.pick([undefined, 'gzip', 'deflate'] as const);
    const body = enc === 'gzip' ? zlib.gzipSync(raw) : enc === 'deflate' ? zlib.deflateSync(raw) : raw;
    return { index, format, contentType: CANONICAL[format], contentEncoding: enc, body, seedName: seed.name, mutations: unauthorised ? ['unauthorised'] : mutations, encoding: enc ?? 'identity', control: !unauthorised, mustBe: unauthorised ? 401 : undefined, port, authorization };
  }
  const [contentType, ctLabel] = pickContentType(rng, format);
  const enc = encode(rng, raw, format, ctx);
  const chunked = rng.chance(0.15) && enc.body.length > 0;
  return {
    index,
    format,
    contentType,
    contentEncoding: enc.header,
    body: enc.body,
    chunks: chunked ? split(rng, enc.body) : undefined,
    seedName: seed.name,
    mutations: [...(unauthorised ? ['unauthorised'] : []), ...mutations, ...(ctLabel === 'canonical' ? [] : [`content-type:${ctLabel}`])],
    encoding: enc.label,
    control: false,
    mustBe: unauthorised ? 401 : enc.mustBe,
    port,
    authorization,
  };
}

/** The family of a body for the summary: its first mutation's name up to the first '/' or ':'. */
export function familyOf(b: FuzzBody): string {
  if (b.control) return 'control';
  const first = b.mutations[0] ?? 'none';
  return first.split(/[/:]/)[0];
}
