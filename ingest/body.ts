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

/**
 * Reads a request body, inflating gzip/deflate as it streams, and stops the moment either the wire bytes or
 * the inflated bytes pass `maxBytes`: a gzip bomb is refused after inflating at most maxBytes, never all of it.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.reject(new BodyError(413, `Request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`));
  }
  let inflater: zlib.Gunzip | zlib.Inflate | null = null;
  if (encoding === 'gzip' || encoding === 'x-gzip') inflater = zlib.createGunzip();
  else if (encoding === 'deflate') inflater = zlib.createInflate();
  else if (encoding !== 'identity' && encoding !== '') {
    return Promise.reject(new BodyError(415, `Unsupported Content-Encoding "${encoding}"; use gzip, deflate or none`));
  }

  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    let bodyBytes = 0;
    let settled = false;
    const fail = (err: BodyError) => {
      if (settled) return;
      settled = true;
      inflater?.destroy();
      // Keep draining the socket so the error response can still be written and read by the client.
      req.unpipe();
      req.resume();
      reject(err);
    };
    const tooLarge = (what: string) => fail(new BodyError(413, `${what} exceeds the limit of ${maxBytes} bytes`));
    const collect = (chunk: Buffer) => {
      if (settled) return;
      bodyBytes += chunk.length;
      if (bodyBytes > maxBytes) return tooLarge(inflater ? 'Decompressed request body' : 'Request body');
      chunks.push(chunk);
    };
    const done = () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, bodyBytes));
    };

    req.on('data', (chunk: Buffer) => {
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) tooLarge('Request body');
    });
    req.on('error', () => fail(new BodyError(400, 'The request body could not be read')));
    req.on('aborted', () => fail(new BodyError(400, 'The client aborted the request')));
    if (inflater) {
      inflater.on('data', collect);
      inflater.on('end', done);
      inflater.on('error', () => fail(new BodyError(400, `The body is not valid ${encoding} data`)));
      req.pipe(inflater);
    } else {
      req.on('data', collect);
      req.on('end', done);
    }
  });
}
