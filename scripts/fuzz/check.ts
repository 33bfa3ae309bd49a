// What every answer to a fuzz body must be: a 2xx or 4xx (429/503 with Retry-After counted apart as
// backpressure), in the request's encoding, with a body that decodes as OTLP says it must.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { FuzzBody } from './bodies';

export type Expected = 'protobuf' | 'json' | 'unsupported';

const PROTOBUF_TYPES = new Set(['application/x-protobuf', 'application/protobuf']);

/** The encoding the answer must use, from the request's Content-Type (as OTLP/HTTP specifies). */
export function expectedEncoding(contentType: string | undefined): Expected {
  const mime = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (PROTOBUF_TYPES.has(mime)) return 'protobuf';
  if (mime === 'application/json') return 'json';
  return 'unsupported';
}

interface Field {
  num: number;
  wt: number;
  varint?: bigint;
  bytes?: Uint8Array;
}

/** Parses one message's fields strictly: any framing error throws. */
function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= b.length) throw new Error('truncated varint');
      const x = b[pos++];
      v |= BigInt(x & 0x7f) << BigInt(7 * i);
      if (x < 0x80) return v;
    }
    throw new Error('varint longer than 10 bytes');
  };
  while (pos < b.length) {
    const tag = varint();
    const num = Number(tag >> 3n);
    const wt = Number(tag & 7n);
    if (num === 0) throw new Error('field number 0');
    if (wt === 0) out.push({ num, wt, varint: varint() });
    else if (wt === 2) {
      const len = Number(varint());
      if (pos + len > b.length) throw new Error('length past the end');
      out.push({ num, wt, bytes: b.subarray(pos, pos + len) });
      pos += len;
    } else if (wt === 1 || wt === 5) {
      pos += wt === 1 ? 8 : 4;
      if (pos > b.length) throw new Error('truncated fixed field');
      out.push({ num, wt });
    } else throw new Error(`wire type ${wt}`);
  }
  return out;
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

/** google.rpc.Status: code (1, int32), message (2, string), details (3, Any). Returns a problem or ''. */
export function checkProtobufStatus(body: Uint8Array, httpStatus: number): string {
  let code = 0n;
  let message = '';
  try {
    for (const f of fields(body)) {
      if (f.num === 1) {
        if (f.wt !== 0) return 'google.rpc.Status.code has the wrong wire type';
        code = f.varint!;
      } else if (f.num === 2) {
        if (f.wt !== 2) return 'google.rpc.Status.message has the wrong wire type';
        message = utf8(f.bytes!);
      } else if (f.num === 3) {
        if (f.wt !== 2) return 'google.rpc.Status.details has the wrong wire type';
      }
    }
  } catch (err) {
    return `body is not a google.rpc.Status: ${(err as Error).message}`;
  }
  if (code < 1n || code > 16n) return `google.rpc.Status.code ${code} is not an error code (HTTP ${httpStatus})`;
  if (!message) return 'google.rpc.Status has no message';
  return '';
}

/** ExportTraceServiceResponse, checked strictly and with the OTel exporters' own deserializer. */
export function checkProtobufExportResponse(body: Uint8Array): { problem: string; rejected: number } {
  let rejected = 0;
  try {
    for (const f of fields(body)) {
      if (f.num !== 1) continue;
      if (f.wt !== 2) return { problem: 'partial_success has the wrong wire type', rejected };
      for (const g of fields(f.bytes!)) {
        if (g.num === 1) {
          if (g.wt !== 0) return { problem: 'rejected_spans has the wrong wire type', rejected };
          const v = BigInt.asIntN(64, g.varint!);
          if (v < 0n) return { problem: `rejected_spans is negative (${v})`, rejected };
          rejected = Number(v);
        } else if (g.num === 2) {
          if (g.wt !== 2) return { problem: 'error_message has the wrong wire type', rejected };
          utf8(g.bytes!);
        }
      }
    }
    ProtobufTraceSerializer.deserializeResponse(body);
  } catch (err) {
    return { problem: `body is not an ExportTraceServiceResponse: ${(err as Error).message}`, rejected };
  }
  return { problem: '', rejected };
}

export interface Verdict {
  /** 'ok', 'backpressure' (429/503 with Retry-After) or 'bad' (see problem). */
  kind: 'ok' | 'backpressure' | 'bad';
  problem: string;
  /** Spans the server said it rejected (partial success). */
  rejected: number;
  /** Not a failure, worth knowing (e.g. a JSON error body without a message). */
  note: string;
}

export function checkAnswer(b: FuzzBody, status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): Verdict {
  const v: Verdict = { kind: 'ok', problem: '', rejected: 0, note: '' };
  const bad = (problem: string): Verdict => ({ ...v, kind: 'bad', problem });
  const retryAfter = headers['retry-after'];
  if (status === 429 || status === 503) {
    if (!retryAfter) return bad(`${status} without Retry-After`);
    v.kind = 'backpressure';
  } else if (status >= 500) return bad(`HTTP ${status}`);
  else if (status < 200 || (status >= 300 && status < 400)) return bad(`HTTP ${status}`);

  const expected = expectedEncoding(b.contentType);
  const got = String(headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const ok2xx = status >= 200 && status < 300;
  if (b.mustBe === 401) {
    // The key is checked before anything about the body.
    if (status !== 401) return bad(`a request without a valid key answered ${status}, not 401`);
  } else if (expected === 'unsupported') {
    if (status !== 415 && v.kind === 'ok') return bad(`unsupported Content-Type ${JSON.stringify(b.contentType)} answered ${status}, not 415`);
  } else if (b.mustBe && status !== b.mustBe && v.kind === 'ok') {
    return bad(`${b.encoding} answered ${status}, must be ${b.mustBe}`);
  }
  if (b.control && status !== 200 && v.kind === 'ok') return bad(`valid export (control) answered ${status}: ${body.toString('utf8', 0, 300)}`);

  // The encoding: protobuf in, protobuf out; JSON in, JSON out; an unsupported type gets either, well-formed.
  const asProtobuf = expected === 'protobuf' || (expected === 'unsupported' && PROTOBUF_TYPES.has(got));
  if (asProtobuf) {
    if (!PROTOBUF_TYPES.has(got)) return bad(`protobuf request answered with Content-Type ${JSON.stringify(headers['content-type'])} (HTTP ${status}): ${body.toString('utf8', 0, 200)}`);
    if (ok2xx) {
      const r = checkProtobufExportResponse(body);
      if (r.problem) return bad(r.problem);
      v.rejected = r.rejected;
    } else {
      const p = checkProtobufStatus(body, status);
      if (p) return bad(p);
    }
  } else {
    if (got !== 'application/json') return bad(`JSON request answered with Content-Type ${JSON.stringify(headers['content-type'])} (HTTP ${status})`);
    let doc: unknown;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return bad(`answer is not JSON: ${(err as Error).message}: ${body.toString('utf8', 0, 200)}`);
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return bad(`answer is JSON but not an object: ${body.toString('utf8', 0, 200)}`);
    const o = doc as Record<string, unknown>;
    if (ok2xx) {
      const ps = o.partialSuccess as Record<string, unknown> | undefined;
      if (ps !== undefined) {
        const r = Number(ps?.rejectedSpans ?? 0);
        if (!Number.isInteger(r) || r < 0) return bad(`partialSuccess.rejectedSpans is ${JSON.stringify(ps?.rejectedSpans)}`);
        v.rejected = r;
      }
    } else if (typeof o.message !== 'string' || !o.message) {
      v.note = `error answer without an OTLP Status "message": ${body.toString('utf8', 0, 120)}`;
    }
  }
  if (b.control && v.rejected > 0) return bad(`valid export (control) had ${v.rejected} spans rejected`);
  return v;
}
