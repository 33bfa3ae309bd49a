import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 408 | 413 | 415 | 429,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The bytes of export bodies being received at once, over all requests. Only bytes that have arrived
 * count, so a client that stalls after one byte holds one byte, not a slot; a flood of large bodies
 * arriving together is refused (429) past the limit instead of growing memory without bound.
 */
export class ReceiveBudget {
  private used = 0;
  constructor(private readonly limit: number) {}
  take(bytes: number): boolean {
    if (this.used + bytes > this.limit) return false;
    this.used += bytes;
    return true;
  }
  release(bytes: number): void {
    this.used -= bytes;
  }
  get bytes() {
    return this.used;
  }
}

export type BodyEncoding = 'gzip' | 'deflate' | 'identity';

/** The body as it came over the wire (at most `maxBytes`), and how it is compressed. */
export interface WireBody {
  bytes: Buffer;
  encoding: BodyEncoding;
}

/**
 * Reads a request body, at most `maxBytes` on the wire, without inflating it (see inflateBody). Its bytes
 * count against `budget` until the returned `release` is called (once the body has been handed on).
 */
export async function readBody(req: IncomingMessage, maxBytes: number, budget: ReceiveBudget, timeoutMs: number): Promise<WireBody & { release: () => void }> {
  const header = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new BodyError(413, `Request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  const encoding: BodyEncoding | null =
    header === 'gzip' || header === 'x-gzip' ? 'gzip' : header === 'deflate' ? 'deflate' : header === 'identity' || header === '' ? 'identity' : null;
  if (!encoding) {
    req.resume();
    throw new BodyError(415, `Unsupported Content-Encoding "${header}"; use gzip, deflate or none`);
  }
  let held = 0;
  const release = () => {
    budget.release(held);
    held = 0;
  };
  try {
    const bytes = await readWire(req, maxBytes, timeoutMs, (n) => {
      if (!budget.take(n)) return false;
      held += n;
      return true;
    });
    return { bytes, encoding, release };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * Inflates gzip/deflate in one synchronous call, meant for an ingest worker thread (never the event loop):
 * `maxOutputLength` stops inflating the moment the output passes `maxBytes`, so a gzip bomb is refused after
 * inflating at most maxBytes, never all of it. (On the event loop, async zlib's per-chunk callbacks and
 * copies were the main thread's largest cost after garbage collection, measured.)
 */
export function inflateBody(body: Uint8Array, encoding: BodyEncoding, maxBytes: number): Uint8Array {
  if (encoding === 'identity') return body;
  const options = { maxOutputLength: maxBytes, chunkSize: 64 * 1024 };
  try {
    return encoding === 'gzip' ? zlib.gunzipSync(body, options) : zlib.inflateSync(body, options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BodyError(413, `Decompressed request body exceeds the limit of ${maxBytes} bytes`);
    }
    throw new BodyError(400, `The body is not valid ${encoding} data`);
  }
}

function readWire(req: IncomingMessage, maxBytes: number, timeoutMs: number, take: (bytes: number) => boolean): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    // A deadline for the whole body, answered in the export's own encoding (Node's requestTimeout, the
    // server-wide net behind it, answers a bare 408): a client trickling bytes must not hold memory long.
    const deadline = setTimeout(() => {
      fail(new BodyError(408, `The request body did not arrive within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (err: BodyError) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      // Keep draining the socket so the error response can still be written and read by the client.
      req.resume();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      bytes += chunk.length;
      if (bytes > maxBytes) return fail(new BodyError(413, `Request body exceeds the limit of ${maxBytes} bytes`));
      if (!take(chunk.length)) return fail(new BodyError(429, 'Canopy is receiving too much at once; retry later'));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes));
    });
    req.on('error', () => fail(new BodyError(400, 'The request body could not be read')));
    req.on('aborted', () => fail(new BodyError(400, 'The client aborted the request')));
    // A request timed out by the server (CANOPY_BODY_TIMEOUT_MS) or a socket torn down mid-body ends here.
    req.on('close', () => fail(new BodyError(408, 'The request body did not arrive in time')));
  });
}
