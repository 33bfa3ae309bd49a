// OTLP/gRPC load client for the bench: the phase-1 workload's gzipped protobuf bodies sent as gRPC messages
// (compressed flag set, `grpc-encoding: gzip`) over HTTP/2, one connection per concurrent sender as each
// exporter holds its own. Bodies are framed, not re-encoded or re-compressed, so the client costs what the
// HTTP client costs and the two transports are compared on the same bytes. Answers are reported as HTTP's
// statuses (OK → 200, RESOURCE_EXHAUSTED → 429, UNAVAILABLE → 503) with RetryInfo as Retry-After, so the
// load loops in client.ts retry both transports by the same rule.

import http2 from 'node:http2';
import { EXPORT_PATH } from '../../ingest/grpc/server';
import { STATUS_DETAILS_KEY, retryDelayMsOf } from '../../ingest/grpc/status';
import type { ExportClient, PostResult } from './client';

const HTTP_STATUS: Record<number, number> = { 0: 200, 8: 429, 14: 503 };

export class GrpcClient implements ExportClient {
  private readonly sessions: http2.ClientHttp2Session[] = [];
  private next = 0;

  constructor(
    private readonly grpcUrl: string,
    private readonly connections: number,
  ) {
    if (new URL(grpcUrl).hostname !== '127.0.0.1') throw new Error(`benchmark traffic goes to 127.0.0.1 only, not ${grpcUrl}`);
  }

  /** A connection per sender, opened on first use and reopened if it closed (like an exporter's channel). */
  private session(): http2.ClientHttp2Session {
    const i = this.next++ % this.connections;
    let s = this.sessions[i];
    if (!s || s.closed || s.destroyed) {
      s = http2.connect(this.grpcUrl);
      s.on('error', () => {}); // surfaces on the streams using it
      this.sessions[i] = s;
    }
    return s;
  }

  post(gz: Buffer): Promise<PostResult> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const head = Buffer.alloc(5);
      head.writeUInt8(1, 0);
      head.writeUInt32BE(gz.length, 1);
      const req = this.session().request({
        ':method': 'POST',
        ':path': EXPORT_PATH,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-encoding': 'gzip',
        'grpc-accept-encoding': 'identity,gzip',
      });
      let headers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => (headers = h));
      req.on('trailers', (t) => (headers = { ...headers, ...t }));
      req.resume();
      req.on('error', reject);
      req.on('end', () => {
        const code = Number(headers['grpc-status']);
        const details = headers[STATUS_DETAILS_KEY];
        const retryMs = details === undefined ? undefined : retryDelayMsOf(Buffer.from(String(details), 'base64'));
        resolve({ status: HTTP_STATUS[code] ?? 500, retryAfterS: retryMs === undefined ? 0 : retryMs / 1000, ms: performance.now() - started });
      });
      req.write(head);
      req.end(gz);
    });
  }

  close() {
    for (const s of this.sessions) s?.close();
  }
}
