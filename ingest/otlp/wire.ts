// Minimal protobuf wire reader for the OTLP decoder. Hand-rolled rather than protobufjs' Reader so that
// fixed64 times stay exact without Long objects, wire types are checked (garbage fails loudly instead
// of decoding into nonsense), and strings come from Buffer's native UTF-8 decoder, which replaces
// invalid sequences, so no lone surrogate can reach JSON.stringify (ClickHouse rejects those).
import { OtlpDecodeError } from './errors';

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

interface SliceBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
  hexSlice(start: number, end: number): string;
}

const TWO_32 = 4294967296;

const MAX_CACHED_KEY = 64;
const MAX_CACHED_KEYS = 4096;
const keyCache = new Map<number, { bytes: Uint8Array; text: string }>();

export class WireReader {
  pos = 0;
  readonly end: number;
  readonly buf: SliceBuffer;
  /** Low and high 32 bits of the last 64-bit value read (varint64/fixed64), unsigned. */
  lo = 0;
  hi = 0;

  constructor(bytes: Uint8Array) {
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.buf = b as SliceBuffer;
    this.end = b.length;
  }

  fail(what: string): never {
    throw new OtlpDecodeError(`invalid protobuf: ${what} at byte ${this.pos}`);
  }

  /** A varint truncated to its low 32 bits, unsigned (proto int32/enum/uint32 semantics). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= this.end) this.fail('truncated varint');
    let b = buf[pos++];
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let v = b & 0x7f;
    for (let shift = 7; shift < 70; shift += 7) {
      if (pos >= this.end) this.fail('truncated varint');
      b = buf[pos++];
      if (shift < 32) v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return v >>> 0;
      }
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a varint into lo/hi. */
  varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let pos = this.pos;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.end) this.fail('truncated varint');
      const b = buf[pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi = bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated fixed32');
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): void {
    if (this.pos + 8 > this.end) this.fail('truncated fixed64');
    this.lo = this.buf.readUInt32LE(this.pos);
    this.hi = this.buf.readUInt32LE(this.pos + 4);
    this.pos += 8;
  }

  double(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a length prefix and returns where the delimited bytes end. */
  lenEnd(limit: number): number {
    const len = this.uint32();
    const e = this.pos + len;
    if (e > limit) this.fail(`length ${len} runs past the end of its message`);
    return e;
  }

  /**
   * A string that repeats across spans (attribute keys): served from a cache so the same bytes are not
   * decoded, allocated and re-internalised as a property name for every span.
   */
  key(limit: number): string {
    const e = this.lenEnd(limit);
    const start = this.pos;
    const len = e - start;
    this.pos = e;
    if (len === 0) return '';
    if (len > MAX_CACHED_KEY) return this.buf.utf8Slice(start, e);
    const buf = this.buf;
    let h = len;
    for (let i = start; i < e; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const hit = keyCache.get(h);
    if (hit !== undefined && hit.bytes.length === len) {
      const b = hit.bytes;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (b[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit.text;
    }
    const text = buf.utf8Slice(start, e);
    // A copy: a view would pin the whole request body and change if its memory is reused.
    if (keyCache.size < MAX_CACHED_KEYS) keyCache.set(h, { bytes: new Uint8Array(buf.subarray(start, e)), text });
    return text;
  }

  string(limit: number): string {
    const e = this.lenEnd(limit);
    const s = this.pos === e ? '' : this.buf.utf8Slice(this.pos, e);
    this.pos = e;
    return s;
  }

  skip(wireType: number, limit: number): void {
    switch (wireType) {
      case VARINT:
        this.varint64();
        return;
      case I64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lenEnd(limit);
        return;
      case I32:
        this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wireType}`);
    }
    if (this.pos > limit) this.fail('field runs past the end of its message');
  }

  /** Asserts that a sub-message ended exactly at its declared length. */
  endOf(e: number, what: string): void {
    if (this.pos !== e) this.fail(`${what} overruns its length`);
  }
}

/** Unsigned 64-bit lo/hi as an exact decimal string. */
export function u64ToDecimal(lo: number, hi: number): string {
  // Below 2^53 a double is exact and much cheaper than BigInt.
  if (hi < 0x200000) return String(hi * TWO_32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Signed (two's complement) 64-bit lo/hi as a number when exact, else as an exact decimal string. */
export function i64ToValue(lo: number, hi: number): number | string {
  if (hi < 0x200000) return hi * TWO_32 + lo;
  if (hi >= 0xffe00000) return (hi - TWO_32) * TWO_32 + lo; // small negative, still exact
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}
