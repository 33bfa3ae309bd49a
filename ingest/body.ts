import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export type BodyEncoding = 'gzip' | 'deflate' | 'identity';

/** The body as it came over the wire (at most `maxBytes`), and how it is compressed. */
export interface WireBody {
  bytes: Buffer;
  encoding: BodyEncoding;
}

/** Reads a request body, at most `maxBytes` on the wire, without inflating it (see inflateBody). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<WireBody> {
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
  return { bytes: await readWire(req, maxBytes), encoding };
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

function readWire(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const fail = (err: BodyError) => {
      if (settled) return;
      settled = true;
      // Keep draining the socket so the error response can still be written and read by the client.
      req.resume();
      reject(err);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      bytes += chunk.length;
      if (bytes > maxBytes) return fail(new BodyError(413, `Request body exceeds the limit of ${maxBytes} bytes`));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bytes));
    });
    req.on('error', () => fail(new BodyError(400, 'The request body could not be read')));
    req.on('aborted', () => fail(new BodyError(400, 'The client aborted the request')));
  });
}
